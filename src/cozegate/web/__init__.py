"""The web console: server-rendered pages over the admin services, for the operator."""
