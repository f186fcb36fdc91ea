"""The basket's SQLite file when several server workers open it at once."""
import sqlite3
import threading

from kb.materials.basket import MIGRATIONS, BasketStore


def test_workers_opening_a_new_basket_file_together_all_start(tmp_path):
    """gunicorn's workers each build the app at the same moment; on a new basket file each one
    runs the schema and its migrations. None may fail because another added a column first."""
    for round_ in range(20):
        path = tmp_path / f"b{round_}" / "basket.sqlite"
        start, failures = threading.Barrier(6), []

        def open_store():
            start.wait()
            try:
                BasketStore(path)
            except Exception as exc:  # noqa: BLE001 — the test lists whatever went wrong
                failures.append(repr(exc))

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(items)")}
        assert set(MIGRATIONS) <= columns
