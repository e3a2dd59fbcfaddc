from __future__ import annotations

from webmail.mailaccess.extensions import _expand_sequence_set
from webmail.mailaccess.folders import order_tree
from webmail.mailaccess.types import Folder, FolderRole


def folder(name: str, role: FolderRole = FolderRole.NONE) -> Folder:
    return Folder(name=name, delimiter="/", flags=frozenset(), role=role)


def test_tree_order_specials_first_children_after_parents() -> None:
    names = [
        folder("Zeta"),
        folder("Projects/2026"),
        folder("Trash", FolderRole.TRASH),
        folder("INBOX", FolderRole.INBOX),
        folder("Projects"),
        folder("Projects/2025"),
        folder("Sent", FolderRole.SENT),
        folder("archive-old"),
    ]
    ordered = [f.name for f in order_tree(names)]
    assert ordered == [
        "INBOX",
        "Sent",
        "Trash",
        "archive-old",
        "Projects",
        "Projects/2025",
        "Projects/2026",
        "Zeta",
    ]
    assert folder("Projects/2026").depth == 1 and folder("Projects/2026").leaf_name == "2026"


def test_esearch_sequence_sets_keep_sort_order() -> None:
    assert _expand_sequence_set(b"9,3:5,12:10") == [9, 3, 4, 5, 12, 11, 10]
    assert _expand_sequence_set(7) == [7]
