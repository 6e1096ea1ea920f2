class EmptyPage(LookupError):
    """The requested page number is out of range."""


class Page:
    def __init__(self, items, number, paginator):
        self.items = items
        self.number = number
        self.paginator = paginator

    def has_next(self):
        return self.number < self.paginator.num_pages

    def has_previous(self):
        return self.number > 1

    def __repr__(self):
        return "<Page %d of %d>" % (self.number, self.paginator.num_pages)


class Paginator:
    """Splits a sequence into pages of per_page items (numbered from 1)."""

    def __init__(self, items, per_page, allow_empty_first_page=True):
        if per_page < 1:
            raise ValueError("per_page must be at least 1")
        self.items = list(items)
        self.per_page = per_page
        self.allow_empty_first_page = allow_empty_first_page

    @property
    def count(self):
        return len(self.items)

    @property
    def num_pages(self):
        if self.count == 0:
            return 1 if self.allow_empty_first_page else 0
        return self.count // self.per_page

    def page(self, number):
        if number < 1:
            raise EmptyPage("page numbers start at 1, got %d" % number)
        if number > self.num_pages:
            raise EmptyPage("page %d is after the last page (%d)" % (number, self.num_pages))
        start = (number - 1) * self.per_page
        return Page(self.items[start:start + self.per_page], number, self)
