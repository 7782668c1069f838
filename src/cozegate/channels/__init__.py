"""Upstream Coze accounts ("channels"): encrypted secrets, selection, auto-disable."""
