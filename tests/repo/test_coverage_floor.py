"""tools/coverage_floor.py: which modules it governs, and the floor each must hold."""

from __future__ import annotations

from tools.coverage_floor import FLOOR, Row, governed, rows_from_report, table, under


def test_services_selectors_and_tasks_are_governed_and_nothing_else():
    assert governed("apps/forum/services/posting.py")
    assert governed("apps/inference/selectors.py")
    assert governed("apps/mlmodels/tasks.py")
    assert not governed("apps/inference/apis.py")
    assert not governed("apps/forum/migrations/0001_initial.py")


def test_a_module_counts_statements_and_branches_and_one_never_imported_counts_as_zero(tmp_path):
    (tmp_path / "apps" / "shop").mkdir(parents=True)
    (tmp_path / "apps" / "shop" / "services.py").write_text("x = 1\n")
    (tmp_path / "apps" / "shop" / "selectors.py").write_text("y = 2\n")
    summary = {"num_statements": 8, "covered_lines": 6, "num_branches": 2, "covered_branches": 1}
    report = {"files": {"apps/shop/services.py": {"summary": summary}}}
    rows = {row.path: row for row in rows_from_report(report, root=tmp_path)}
    assert rows["apps/shop/services.py"].percent == 70.0
    assert rows["apps/shop/selectors.py"].percent == 0.0


def test_a_module_under_the_floor_is_named_and_one_at_it_passes():
    rows = [Row("apps/a/services.py", 10, 8, 0, 0), Row("apps/b/services.py", 10, 9, 0, 0)]
    assert [row.path for row in under(rows, FLOOR)] == ["apps/a/services.py"]
    assert "UNDER THE FLOOR by 10.0" in table(rows, FLOOR)
