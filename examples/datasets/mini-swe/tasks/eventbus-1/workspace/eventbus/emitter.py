class Emitter:
    """Handlers per event name, called in the order they were added."""

    def __init__(self):
        self._handlers = {}

    def on(self, event, handler):
        self._handlers.setdefault(event, []).append(handler)
        return handler

    def off(self, event, handler):
        handlers = self._handlers.get(event, [])
        if handler in handlers:
            handlers.remove(handler)

    def once(self, event, handler):
        """Adds a handler that removes itself after its first call."""

        def wrapper(*args, **kwargs):
            self.off(event, wrapper)
            return handler(*args, **kwargs)

        return self.on(event, wrapper)

    def emit(self, event, *args, **kwargs):
        """Calls the event's handlers with the arguments; returns how many were called."""
        called = 0
        for handler in self._handlers.get(event, []):
            handler(*args, **kwargs)
            called += 1
        return called

    def listeners(self, event):
        return list(self._handlers.get(event, []))
