"""Services: the app's rules and storage; they know nothing of `request`; the blueprints,
the CLI and the task queue call them."""
