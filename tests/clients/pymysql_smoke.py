#!/usr/bin/env python3
"""A short PyMySQL script against a MySQL-protocol server (MariaDB or the tandem router).

    python3 tests/clients/pymysql_smoke.py --host 127.0.0.1 --port 3306 \
        --user app --password pw --database app [--table py_smoke]

Prints OK and exits 0 when every step returned what it should; prints what differed and
exits 1 otherwise (also on any driver error). PyMySQL has no server-side prepared
statements: parameters are escaped and interpolated by the client (COM_QUERY only).

tests/run.sh installs PyMySQL with pip into target/test-deps/python; tests/common/
clients.rs puts that directory on PYTHONPATH.
"""

import argparse
import datetime
import decimal
import sys
import traceback

try:
    import pymysql
except ImportError:
    print("pymysql_smoke: PyMySQL is not installed (see tests/run.sh)", file=sys.stderr)
    sys.exit(1)


class Mismatch(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Mismatch(f"{what}: got {got!r}, want {want!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3306)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", default="")
    ap.add_argument("--database", required=True)
    ap.add_argument("--table", default="py_smoke")
    a = ap.parse_args()
    t = a.table
    if not t.replace("_", "").isalnum():
        raise Mismatch(f"--table must be a plain identifier, got {t!r}")

    print(f"pymysql_smoke: PyMySQL {pymysql.VERSION_STRING} -> {a.host}:{a.port}/{a.database} table {t}")
    conn = pymysql.connect(
        host=a.host,
        port=a.port,
        user=a.user,
        password=a.password,
        database=a.database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=10,
        read_timeout=30,
        write_timeout=30,
    )
    try:
        cur = conn.cursor()

        # Table, fresh each run.
        cur.execute(f"DROP TABLE IF EXISTS `{t}`")
        cur.execute(
            f"CREATE TABLE `{t}` ("
            " id INT AUTO_INCREMENT PRIMARY KEY,"
            " name VARCHAR(64) NOT NULL,"
            " note VARCHAR(255) NULL,"
            " amount DECIMAL(12,4) NULL,"
            " at DATETIME(6) NULL"
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )

        # Parameterised insert; lastrowid of an AUTO_INCREMENT insert.
        n = cur.execute(f"INSERT INTO `{t}` (name, note) VALUES (%s, %s)", ("alpha", "first"))
        expect("rowcount of insert", n, 1)
        first_id = cur.lastrowid
        if not isinstance(first_id, int) or first_id <= 0:
            raise Mismatch(f"lastrowid after the first insert: {first_id!r}")
        cur.execute(f"INSERT INTO `{t}` (name, note) VALUES (%s, %s)", ("beta", "second"))
        expect("lastrowid after the second insert", cur.lastrowid, first_id + 1)
        cur.execute("SELECT LAST_INSERT_ID()")
        expect("SELECT LAST_INSERT_ID()", cur.fetchone()[0], first_id + 1)

        # executemany (PyMySQL rewrites it into one multi-row INSERT).
        n = cur.executemany(
            f"INSERT INTO `{t}` (name, note) VALUES (%s, %s)",
            [("gamma", "many 1"), ("delta", "many 2"), ("epsilon", "many 3")],
        )
        expect("rowcount of executemany", n, 3)

        # A committed transaction and a rolled-back one.
        conn.begin()
        cur.execute(f"INSERT INTO `{t}` (name) VALUES (%s)", ("committed",))
        conn.commit()
        conn.begin()
        cur.execute(f"INSERT INTO `{t}` (name) VALUES (%s)", ("rolled_back",))
        cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE name = %s", ("rolled_back",))
        expect("rolled_back row visible inside its transaction", cur.fetchone()[0], 1)
        conn.rollback()
        cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE name = %s", ("committed",))
        expect("committed row after commit", cur.fetchone()[0], 1)
        cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE name = %s", ("rolled_back",))
        expect("rolled_back row after rollback", cur.fetchone()[0], 0)

        # SELECT with a WHERE parameter.
        cur.execute(f"SELECT id, name, note FROM `{t}` WHERE name = %s", ("beta",))
        rows = cur.fetchall()
        expect("SELECT ... WHERE name = 'beta'", rows, ((first_id + 1, "beta", "second"),))
        cur.execute(f"SELECT name FROM `{t}` WHERE id >= %s AND name <> %s ORDER BY id", (first_id, "beta"))
        expect(
            "SELECT ... ORDER BY id",
            [r[0] for r in cur.fetchall()],
            ["alpha", "gamma", "delta", "epsilon", "committed"],
        )

        # utf8mb4 round trip (4-byte emoji, accents, CJK), and a quote that must be escaped.
        text = "caf\u00e9 \U0001F600 \u6f22\u5b57 it's"
        cur.execute(f"INSERT INTO `{t}` (name, note) VALUES (%s, %s)", ("unicode", text))
        uid = cur.lastrowid
        cur.execute(f"SELECT note, CHAR_LENGTH(note) FROM `{t}` WHERE id = %s", (uid,))
        expect("utf8mb4 round trip", cur.fetchone(), (text, len(text)))

        # NULL round trip, both ways.
        cur.execute(f"INSERT INTO `{t}` (name, note, amount, at) VALUES (%s, %s, %s, %s)", ("nulls", None, None, None))
        nid = cur.lastrowid
        cur.execute(f"SELECT note, amount, at, note IS NULL FROM `{t}` WHERE id = %s", (nid,))
        expect("NULL round trip", cur.fetchone(), (None, None, None, 1))
        cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE note <=> %s", (None,))
        expect("rows whose note <=> NULL (committed, nulls)", cur.fetchone()[0], 2)

        # DECIMAL and DATETIME round trip.
        amount = decimal.Decimal("12345678.9012")
        at = datetime.datetime(2024, 2, 29, 23, 59, 58, 123456)
        cur.execute(f"INSERT INTO `{t}` (name, amount, at) VALUES (%s, %s, %s)", ("typed", amount, at))
        tid = cur.lastrowid
        cur.execute(f"SELECT amount, at FROM `{t}` WHERE id = %s", (tid,))
        expect("DECIMAL/DATETIME round trip", cur.fetchone(), (amount, at))
        cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE amount = %s AND at = %s", (amount, at))
        expect("DECIMAL/DATETIME as WHERE parameters", cur.fetchone()[0], 1)

        # Column metadata of the last result came through.
        cur.execute(f"SELECT id, name FROM `{t}` WHERE id = %s", (first_id,))
        expect("column names", [d[0] for d in cur.description], ["id", "name"])
        cur.fetchall()

        cur.execute(f"DROP TABLE `{t}`")
        cur.close()
    finally:
        conn.close()
    print("OK")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as e:
        print(f"pymysql_smoke: MISMATCH: {e}")
        sys.exit(1)
    except Exception as e:  # driver errors, connection refused, protocol trouble
        traceback.print_exc(file=sys.stdout)
        print(f"pymysql_smoke: FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
