"""manyi survey app: Flask app, storage and the ``manyi`` CLI."""
