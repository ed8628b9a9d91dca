"""``python -m benchmarks`` rewrites only the sections it measured in docs/performance.md.

Notes written between sections (why a target is missed, what load a figure was taken under) are
part of the record; three helpers lost theirs to a runner that rebuilt the file from its sections.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.__main__ import ModuleRun, write_doc

OLD_DOC = """# Performance

Intro kept.

<!-- BEGIN bench_smp -->
## old smp
| figure |
<!-- END bench_smp -->

A note on SMP written by hand, between sections.

<!-- BEGIN bench_uds -->
## old uds
<!-- END bench_uds -->

Closing note.
"""


def test_a_rerun_replaces_its_section_in_place_and_keeps_every_note(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(OLD_DOC, encoding="utf-8")
    run = ModuleRun(name="bench_smp", rows=[{"benchmark": "smp now", "figure": "x", "value": 1.0}])
    write_doc([run], doc)
    text = doc.read_text(encoding="utf-8")
    assert "## old smp" not in text
    assert "## smp now (`bench_smp`)" in text
    assert "Intro kept." in text
    assert "A note on SMP written by hand, between sections." in text
    assert "## old uds" in text
    assert text.index("smp now") < text.index("A note on SMP") < text.index("## old uds")
    assert text.rstrip().endswith("Closing note.")


def test_a_module_without_a_section_is_appended(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(OLD_DOC, encoding="utf-8")
    write_doc([ModuleRun(name="bench_new", rows=[{"benchmark": "new one", "value": 2.0}])], doc)
    text = doc.read_text(encoding="utf-8")
    assert "Closing note." in text
    assert text.index("Closing note.") < text.index("<!-- BEGIN bench_new -->")
    assert text.rstrip().endswith("<!-- END bench_new -->")
