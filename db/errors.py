"""What storage raises. The library turns these into the user-facing errors of
``explorer.core.errors`` where it calls storage (db imports nothing from the library)."""


class StorageError(Exception):
    """Base of storage errors; the message is fit to show."""


class WarehouseUnavailable(StorageError):
    """The warehouse file is missing, unreadable or of another schema version."""
