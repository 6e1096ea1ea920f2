import unittest

from invoicer import Invoice, format_cents, to_cents


class TestMoney(unittest.TestCase):
    def test_whole_amounts(self):
        self.assertEqual(to_cents(10), 1000)
        self.assertEqual(to_cents("2.50"), 250)

    def test_format(self):
        self.assertEqual(format_cents(1999), "19.99")
        self.assertEqual(format_cents(5), "0.05")
        self.assertEqual(format_cents(0), "0.00")


class TestInvoice(unittest.TestCase):
    def test_total(self):
        inv = Invoice()
        inv.add("Tea", "4.50", quantity=2)
        inv.add("Mug", 7)
        self.assertEqual(inv.total(), 1600)
        self.assertEqual(inv.total_text(), "16.00")

    def test_quantity_must_be_positive(self):
        with self.assertRaises(ValueError):
            Invoice().add("Nothing", "1.00", quantity=0)
