"""The parse problems a message collects on its way through the parser."""

from __future__ import annotations

from collections.abc import Iterable
from email import errors as email_errors


class Problems:
    """Human-readable, content-free parse problems, each reported once, in order."""

    _DEFECTS = {
        "CloseBoundaryNotFoundDefect": (
            "A multipart section is not closed (missing final boundary); "
            "the message may be truncated."
        ),
        "StartBoundaryNotFoundDefect": (
            "A multipart section has no starting boundary; its parts could not be separated."
        ),
        "NoBoundaryInMultipartDefect": (
            "A multipart section declares no boundary; its parts could not be separated."
        ),
        "MultipartInvariantViolationDefect": "The MIME structure is inconsistent.",
        "MissingHeaderBodySeparatorDefect": (
            "A header line could not be read; what follows it was treated as the body."
        ),
        "FirstHeaderLineIsContinuationDefect": "The header block starts with a folded line.",
        "MisplacedEnvelopeHeaderDefect": "An envelope 'From ' line appears among the headers.",
        "InvalidBase64PaddingDefect": "Base64 content in {where} is damaged (bad padding).",
        "InvalidBase64CharactersDefect": "Base64 content in {where} contains invalid characters.",
        "InvalidBase64LengthDefect": (
            "Base64 content in {where} is truncated; only part of it could be recovered."
        ),
    }

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, problem: str) -> None:
        self._items.setdefault(problem, None)

    def add_defects(self, defects: Iterable[email_errors.MessageDefect], where: str) -> None:
        for defect in defects:
            self.add_defect(type(defect).__name__, where)

    def add_defect(self, name: str, where: str = "the message") -> None:
        template = self._DEFECTS.get(name, "The MIME structure has a defect ({name}).")
        self.add(template.format(where=where, name=name))

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._items)
