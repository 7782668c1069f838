"""The console's pages, one module per area; ``web.router`` mounts them."""
