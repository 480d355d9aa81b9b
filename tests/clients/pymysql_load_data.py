#!/usr/bin/env python3
"""LOAD DATA LOCAL INFILE with PyMySQL (local_infile=True) into a sharded table.

    python3 tests/clients/pymysql_load_data.py --host 127.0.0.1 --port 8067 \
        --user app --password pw --database shop --file /tmp/rows.csv --rows 6

The table is `product` of tests/common/shard.rs (id, name, category, price, ...),
sharded on `id`. Loads the CSV file, expects `--rows` affected rows; then a load that
sets the sharding column must fail with error 1105 and leave the connection usable.
Prints OK and exits 0, or prints what differed and exits 1.
"""

import argparse
import sys
import traceback

try:
    import pymysql
except ImportError:
    print("pymysql_load_data: PyMySQL is not installed (see tests/run.sh)", file=sys.stderr)
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
    ap.add_argument("--file", required=True)
    ap.add_argument("--rows", type=int, required=True)
    a = ap.parse_args()
    conn = pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password,
                           database=a.database, local_infile=True, autocommit=True)
    with conn.cursor() as cur:
        n = cur.execute(
            "LOAD DATA LOCAL INFILE %s INTO TABLE product FIELDS TERMINATED BY ',' "
            "OPTIONALLY ENCLOSED BY '\"' (id, name, price)", (a.file,))
        expect("rows loaded", n, a.rows)
        try:
            cur.execute(
                "LOAD DATA LOCAL INFILE %s INTO TABLE product FIELDS TERMINATED BY ',' "
                "(@id, name, price) SET id = @id", (a.file,))
            raise Mismatch("a load that sets the sharding column was not refused")
        except pymysql.err.MySQLError as e:
            expect("error code", e.args[0], 1105)
        cur.execute("SELECT COUNT(*) FROM product")
        expect("rows through the router", cur.fetchone()[0], a.rows)
    conn.close()
    print("OK")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as e:
        print(f"pymysql_load_data: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
