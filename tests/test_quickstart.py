"""The issue's walk-through and examples/quickstart.py print exactly what they show."""

from __future__ import annotations

import stat
import subprocess
import sys

from rbac_testing import ROOT

# Issue 2, "What a user must be able to do", verbatim.
WALK_THROUGH = """\
from milvus_rbac import MilvusClient
client = MilvusClient("./rbac.db", token="root:Milvus")   # a SQLite file, created on first use
client.create_user(user_name="user_1", password="P@ssw0rd")
client.update_password(user_name="user_1", old_password="P@ssw0rd", new_password="NewP@ssw0rd")
print(client.list_users())      # ['root', 'user_1']
client.create_role(role_name="role_a")
print(client.list_roles())      # ['admin', 'public', 'role_a']
"""


def run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_walk_through(tmp_path):
    done = subprocess.run(
        [sys.executable, "-"], input=WALK_THROUGH, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['root', 'user_1']\n['admin', 'public', 'role_a']\n"
    assert done.stderr == ""
    db = tmp_path / "rbac.db"
    assert db.is_file()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    # Run again on the same file: the user and role now exist.
    again = subprocess.run(
        [sys.executable, "-"], input=WALK_THROUGH, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert again.returncode != 0
    assert "user already exists: user_1" in again.stderr


def test_examples_quickstart(tmp_path):
    done = run([str(ROOT / "examples" / "quickstart.py")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "['root', 'user_1']\n"
        "['admin', 'public', 'role_a']\n"
        "{'user_name': 'user_1', 'roles': ('role_a',), 'description': ''}\n"
    )
    # It works in a directory of its own, and can run any number of times.
    assert list(tmp_path.iterdir()) == []
    assert run([str(ROOT / "examples" / "quickstart.py")], tmp_path).returncode == 0
