import unittest

from eventbus import Emitter


class TestEmitter(unittest.TestCase):
    def test_handlers_get_arguments_in_order(self):
        bus = Emitter()
        seen = []
        bus.on("x", lambda v: seen.append(("first", v)))
        bus.on("x", lambda v: seen.append(("second", v)))
        self.assertEqual(bus.emit("x", 1), 2)
        self.assertEqual(seen, [("first", 1), ("second", 1)])

    def test_off(self):
        bus = Emitter()
        seen = []
        handler = bus.on("x", lambda: seen.append(1))
        bus.off("x", handler)
        self.assertEqual(bus.emit("x"), 0)
        self.assertEqual(seen, [])

    def test_once_runs_once(self):
        bus = Emitter()
        seen = []
        bus.once("x", lambda: seen.append(1))
        bus.emit("x")
        bus.emit("x")
        self.assertEqual(seen, [1])

    def test_unknown_event(self):
        self.assertEqual(Emitter().emit("nothing"), 0)


class TestRemovalDuringEmit(unittest.TestCase):
    def test_handler_after_once_is_called(self):
        bus = Emitter()
        calls = []
        bus.once("ready", lambda: calls.append("once"))
        bus.on("ready", lambda: calls.append("always"))
        self.assertEqual(bus.emit("ready"), 2)
        self.assertEqual(calls, ["once", "always"])

    def test_handler_removing_itself(self):
        bus = Emitter()
        calls = []

        def first():
            calls.append("first")
            bus.off("x", first)

        bus.on("x", first)
        bus.on("x", lambda: calls.append("second"))
        bus.emit("x")
        self.assertEqual(calls, ["first", "second"])

    def test_listeners_after_once(self):
        bus = Emitter()
        bus.once("x", lambda: None)
        bus.emit("x")
        self.assertEqual(bus.listeners("x"), [])
