"""Reading rendered pages the way a person (and a screen reader) would: the message tied to a field,
the value shown in it, the page's notices."""

from __future__ import annotations

from html.parser import HTMLParser


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: dict[str, dict[str, str]] = {}  # by id: attributes
        self.named: dict[str, list[dict[str, str]]] = {}  # inputs/selects/textareas by name
        self.text_by_id: dict[str, list[str]] = {}
        self.classes: dict[str, list[str]] = {}  # text of elements by class
        self._open: list[tuple[str, str | None, list[str]]] = []
        self._select: str | None = None
        self._textarea: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.elements[a["id"]] = {"tag": tag, **a}
        if tag in ("input", "select", "textarea") and "name" in a:
            self.named.setdefault(a["name"], []).append({"tag": tag, **a})
            if tag == "select":
                self._select = a["name"]
            if tag == "textarea":
                self._textarea = self.named[a["name"]][-1]
                self._textarea["value"] = ""
        if tag == "option" and self._select is not None and "selected" in a:
            self.named[self._select][-1]["value"] = a.get("value", "")
        if tag not in ("input", "br", "meta", "link", "img"):
            self._open.append((tag, a.get("id"), a.get("class", "").split()))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data
        for _tag, ident, classes in self._open:
            if ident:
                self.text_by_id.setdefault(ident, []).append(data)
            for cls in classes:
                self.classes.setdefault(cls, []).append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def field_error(html: str, name: str) -> str:
    """The error shown next to field ``name``, checking that the field points to it (aria-describedby)."""
    page = parse(html)
    error_id = f"f-{name}-error"
    assert error_id in page.elements, f"no error next to {name}"
    control = page.elements.get(f"f-{name}")
    assert control is not None, f"no field {name}"
    assert error_id in control.get("aria-describedby", "").split(), f"{name} does not point to its error"
    return "".join(page.text_by_id[error_id]).strip()


def value_of(html: str, name: str) -> str:
    fields = parse(html).named.get(name)
    assert fields, f"no field {name}"
    return fields[0].get("value", "")


def form_error(html: str) -> str:
    return "".join(parse(html).classes.get("form-error", [])).strip()


def text(html: str, cls: str) -> str:
    return "".join(parse(html).classes.get(cls, [])).strip()
