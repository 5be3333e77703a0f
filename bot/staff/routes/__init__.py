"""Route handlers, one module per page family; each exposes `routes`."""
