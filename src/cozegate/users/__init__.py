"""Users and pricing groups."""
