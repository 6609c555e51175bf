"""The `milvus-rbac` command, end to end in subprocesses (prompts answered on stdin), and its options in-process."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from milvus_rbac import AuthenticationError, MilvusClient
from milvus_rbac._core import NO_PASSWORD
from milvus_rbac.cli import main

CLI = str(Path(sys.executable).parent / "milvus-rbac")
ROOT = "root:Milvus"
ROOT_DROP_REFUSED = "milvus-rbac: root user cannot be deleted: privilege not permitted (code 1401)\n"


def environment(**extra):
    env = {name: value for name, value in os.environ.items() if not name.startswith("MILVUS_RBAC_")}
    env.update(extra)
    return env


def cli(*args, stdin="", **env):
    """Run the installed command with no controlling terminal, so getpass's prompts read stdin."""
    return subprocess.run(
        [CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(**env),
        start_new_session=True,
        timeout=60,
    )


@pytest.fixture
def db(tmp_path):
    """A registry file (profile milvus-2.5, fast hashes), closed so that only the command holds it."""
    path = str(tmp_path / "rbac.db")
    MilvusClient(path, token=ROOT, profile="milvus-2.5", password_hash="fast").close()
    return path


def root_client(path):
    return MilvusClient(path, token=ROOT)


# --- end to end, in subprocesses -------------------------------------------------------------------------------


def test_users_create_reads_both_passwords_from_prompts_answered_on_stdin(db):
    done = cli("--db", db, "--user", "root", "users", "create", "user_1", stdin="Milvus\nN3w-P@ssw0rd\n")
    assert (done.returncode, done.stdout) == (0, "created user user_1\n"), done.stderr
    assert "Password for root:" in done.stderr and "Password for new user user_1:" in done.stderr
    assert "N3w-P@ssw0rd" not in done.stdout + done.stderr
    MilvusClient(db, token="user_1:N3w-P@ssw0rd").close()


def test_password_stdin_json_and_options_after_the_command(db):
    root_client(db).create_user("user_1", "P@ssw0rd")
    done = cli("users", "list", "--db", db, "--user", "root", "--password-stdin", "--json", stdin="Milvus\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["root", "user_1"]
    assert done.stderr == ""


def test_exit_codes_1_for_registry_errors_and_2_for_usage_errors(db):
    done = cli("--db", db, "users", "drop", "root", MILVUS_RBAC_TOKEN=ROOT)
    assert done.returncode == 1
    assert done.stderr == ROOT_DROP_REFUSED
    # Passwords are never arguments.
    done = cli("--db", db, "users", "create", "user_1", "P@ssw0rd", MILVUS_RBAC_TOKEN=ROOT)
    assert done.returncode == 2
    assert "unrecognized arguments: P@ssw0rd" in done.stderr
    assert root_client(db).list_users() == ["root"]
    # `python -m milvus_rbac` is the same command, exit status included.
    module = subprocess.run([sys.executable, "-m", "milvus_rbac", "--db", db, "users", "drop", "root"],
                            capture_output=True, text=True, env=environment(MILVUS_RBAC_TOKEN=ROOT), timeout=60)
    assert (module.returncode, module.stderr) == (1, ROOT_DROP_REFUSED)


def test_export_and_import_round_trip_through_files_and_pipes(db, tmp_path):
    client = root_client(db)
    client.create_user("user_1", "P@ssw0rd")
    client.create_role("reader")
    client.grant_role("user_1", "reader")
    backup = tmp_path / "backup.json"
    done = cli("--db", db, "export", str(backup), MILVUS_RBAC_TOKEN=ROOT)
    assert done.stdout == f"exported users: 1, roles: 1, grants: 0, privilege groups: 0 to {backup}\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert json.loads(backup.read_text()) == client.backup_rbac()
    copy = str(tmp_path / "copy.db")
    MilvusClient(copy, token=ROOT, profile="milvus-2.5", password_hash="fast").close()
    done = cli("--db", copy, "--profile", "milvus-2.5", "import", "-", stdin=backup.read_text(),
               MILVUS_RBAC_TOKEN=ROOT)
    assert done.returncode == 0, done.stderr
    assert root_client(copy).backup_rbac() == client.backup_rbac()
    assert MilvusClient(copy, token="user_1:P@ssw0rd").describe_user("user_1")["roles"] == ("reader",)


def test_an_export_is_written_beside_its_file_whatever_the_temporary_directory(db, tmp_path):
    """The file is written under a temporary name in its own directory, then linked in: a temporary file on
    another file system (TMPDIR) could not be."""
    elsewhere = "/dev/shm"
    if not os.path.isdir(elsewhere) or os.stat(elsewhere).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system to put TMPDIR on")
    backup = tmp_path / "backup.json"
    done = cli("--db", db, "export", str(backup), MILVUS_RBAC_TOKEN=ROOT, TMPDIR=elsewhere)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(backup.read_text()) == root_client(db).backup_rbac()
    assert backup.read_text().startswith('{\n  "version": 1,\n')  # indented for people and diffs
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".milvus-rbac-export-")] == []


def test_copy_between_files_says_what_it_copied(db, tmp_path):
    root_client(db).create_role("reader")
    copy = str(tmp_path / "copy.db")
    done = cli("copy", db, copy, MILVUS_RBAC_TOKEN=ROOT)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"copied users: 0, roles: 1, grants: 0, privilege groups: 0 from {db} to {copy}\n"
    assert "reader" in root_client(copy).list_roles()


def test_copy_names_the_users_that_came_without_a_password(db, tmp_path):
    """A registry copied from a Milvus without BackupRBAC holds users without password hashes; copying it on says
    so again, naming them."""
    client = root_client(db)
    client.create_user("nopass", "P@ssw0rd1")
    client.create_user("haspass", "P@ssw0rd1")
    backup = client.backup_rbac()
    for user in backup["users"]:
        if user["user_name"] == "nopass":
            user["password_hash"] = NO_PASSWORD
    source = str(tmp_path / "from-2.3.db")
    MilvusClient(source, token=ROOT, profile="milvus-2.5", password_hash="fast").restore_rbac(backup)
    copy = str(tmp_path / "copy.db")
    done = cli("copy", source, copy, MILVUS_RBAC_TOKEN=ROOT)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[1] == (
        f"1 users came without a password (nopass: {source} holds no password hash of theirs); each logs in once "
        "a super user sets one: milvus-rbac users passwd NAME --reset")
    assert root_client(copy).backup_rbac() == root_client(source).backup_rbac()


def at_a_terminal(args, answers, interrupt_at=None, **env):
    """Run the command on a terminal of its own (a pseudo-terminal), answering each prompt it writes there
    (`answers`: prompt, reply), and interrupting it (SIGINT) once it writes `interrupt_at`, if given; returns its
    exit status and everything it wrote."""
    import pty

    pid, terminal = pty.fork()
    if pid == 0:  # the child: its own session, with the terminal as its controlling one
        os.execve(CLI, [CLI, *args], environment(**env))
    deadline = time.monotonic() + 60

    def read() -> bytes:
        """What the command writes next; b"" once it has ended (its terminal is gone)."""
        if not select.select([terminal], [], [], max(0.0, deadline - time.monotonic()))[0]:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"the command wrote nothing for a minute; so far: {written!r}")
        try:
            return os.read(terminal, 1024)
        except OSError:
            return b""

    written = b""
    try:
        for prompt, reply in answers:
            while prompt.encode() not in written:
                chunk = read()
                if not chunk:
                    raise AssertionError(f"the command ended before asking {prompt!r}: {written!r}")
                written += chunk
            written = written.split(prompt.encode(), 1)[1]
            os.write(terminal, reply.encode() + b"\n")
        if interrupt_at is not None:
            while interrupt_at.encode() not in written:
                chunk = read()
                assert chunk, f"the command ended before writing {interrupt_at!r}: {written!r}"
                written += chunk
            os.kill(pid, signal.SIGINT)
        while chunk := read():
            written += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    return os.waitstatus_to_exitcode(status), written.decode(errors="replace")


def test_a_new_password_typed_at_a_terminal_is_asked_twice(db):
    root_client(db).create_user("u", "P@ssw0rd1")
    args = ["--db", db, "--user", "u", "users", "passwd", "u"]
    login = ("Password for u: ", "P@ssw0rd1")
    status, written = at_a_terminal(args, [login, ("New password for u: ", "N3wP@ssword"),
                                           ("Repeat: ", "N3wP@sswore")])
    assert (status, written.splitlines()[-1]) == (2, "milvus-rbac: error: the passwords do not match")
    MilvusClient(db, token="u:P@ssw0rd1").close()
    status, written = at_a_terminal(args, [login, ("New password for u: ", "N3wP@ssword"),
                                           ("Repeat: ", "N3wP@ssword")])
    assert (status, written.strip()) == (0, "changed the password of u"), written
    MilvusClient(db, token="u:N3wP@ssword").close()


def test_serve_asks_for_a_new_registrys_root_password_at_a_terminal(tmp_path):
    db = str(tmp_path / "new.db")
    status, written = at_a_terminal(["serve", "--db", db, "--port", "0", "--root-password-file", "-"],
                                    [("root password for a new registry: ", "R00t-pass")], interrupt_at="serving")
    assert status == 0, written
    MilvusClient(db, token="root:R00t-pass").close()


def test_serve_reads_the_root_password_file_as_utf8_whatever_the_locale(tmp_path):
    db = str(tmp_path / "new.db")
    (tmp_path / "root.pw").write_text("Wurzel-Pässwört1\n", encoding="utf-8")
    ascii_locale = environment(LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    server = subprocess.Popen([CLI, "serve", "--db", db, "--port", "0", "--log-level", "error",
                               "--root-password-file", str(tmp_path / "root.pw")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ascii_locale,
                              start_new_session=True)
    try:
        announced = server.stdout.readline()
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert b"serving" in announced, errors
    MilvusClient(db, token="root:Wurzel-Pässwört1").close()


def test_policy_test_json_gives_each_failed_expectation(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("roles:\n  r: {}\nexpectations:\n  - {role: r, may: Search, collection: books}\n"
                    "  - {role: r, may_not: Insert, collection: books}\n")
    done = cli("policy", "test", str(path), "--json")
    assert done.returncode == 1, done.stderr
    [failure] = json.loads(done.stdout)
    assert done.stdout.startswith('[\n  {\n    "expectation": '), done.stdout  # indented, as every --json
    assert failure["expectation"] == "a holder of role r may Search on Collection books in default"
    assert failure["where"] == f"{path}:4:5"
    assert failure["explanation"]["allowed"] is False
    path.write_text("roles:\n  r: {}\nexpectations:\n  - {role: r, may_not: Insert, collection: books}\n")
    done = cli("policy", "test", str(path), "--json")
    assert (done.returncode, json.loads(done.stdout)) == (0, [])


def test_policy_test_reports_what_the_registry_refuses_with_status_1(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("roles:\n  r: {}\nexpectations:\n  - {role: r, may: Search, object_type: Nope}\n")
    done = cli("policy", "test", str(path))
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    assert done.stderr == ("milvus-rbac: invalid object type Nope, expected one of Global, Collection, User: "
                           "invalid parameter (code 1100)\n")


def test_policy_test_of_a_file_it_cannot_read_or_load_is_a_usage_error(tmp_path):
    missing = tmp_path / "missing.yaml"
    done = cli("policy", "test", str(missing))
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.endswith(f"milvus-rbac: error: cannot read {missing}: No such file or directory\n")
    (tmp_path / "bad.yaml").write_text("roles: [r]\n")
    done = cli("policy", "test", str(tmp_path / "bad.yaml"))
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert "milvus-rbac: error: " in done.stderr and "bad.yaml:1" in done.stderr, done.stderr


def test_a_server_is_managed_with_uri(db):
    server = subprocess.Popen(
        [CLI, "serve", "--db", db, "--port", "0", "--log-level", "error"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(),
        start_new_session=True,
    )
    try:
        announced = server.stdout.readline()
        uri = re.search(r"on (http://\S+)", announced).group(1)
        done = cli("--uri", uri, "--user", "root", "--password-stdin", "users", "create", "user_1",
                   stdin="Milvus\nP@ssw0rd\n")
        assert done.returncode == 0, done.stderr
        done = cli("--uri", uri, "--json", "users", "describe", "user_1", MILVUS_RBAC_TOKEN=ROOT)
        assert json.loads(done.stdout) == {"user_name": "user_1", "roles": [], "description": ""}
        # The same over REST; and what REST lacks says so.
        done = cli("--uri", uri, "--protocol", "rest", "--json", "users", "list", MILVUS_RBAC_TOKEN=ROOT)
        assert json.loads(done.stdout) == ["root", "user_1"], done.stderr
        done = cli("--uri", uri, "--protocol", "rest", "export", "-", MILVUS_RBAC_TOKEN=ROOT)
        assert done.returncode == 1 and "REST" in done.stderr, (done.stdout, done.stderr)
        done = cli("--uri", uri, "export", "-", MILVUS_RBAC_TOKEN=ROOT)
        assert done.returncode == 0 and "user_1" in done.stdout, (done.stdout, done.stderr)
        done = cli("--db", db, "--protocol", "grpc", "users", "list", MILVUS_RBAC_TOKEN=ROOT)
        assert done.returncode == 2 and "--protocol applies to a server" in done.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        server.stdout.close()
    assert root_client(db).list_users() == ["root", "user_1"]


# --- in-process: every command and option -----------------------------------------------------------------------


@pytest.fixture
def run(db, monkeypatch, capsys):
    """``run(*args, stdin="")`` runs main() on the registry as root; returns (exit code, stdout, stderr)."""

    def invoke(*args, stdin=""):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(["--db", db, *args])
        except SystemExit as exit:
            code = exit.code
        out, err = capsys.readouterr()
        return code, out, err

    monkeypatch.setenv("MILVUS_RBAC_TOKEN", ROOT)
    return invoke


def test_users_commands(run, db):
    assert run("--password-stdin", "users", "create", "user_1", "--description", "ignored in 2.5",
               stdin="P@ssw0rd\n")[0] == 0
    assert run("users", "list") == (0, "root\nuser_1\n", "")
    assert run("users", "describe", "user_1") == (0, "USER_NAME  ROLES  DESCRIPTION\nuser_1\n", "")
    assert run("users", "describe", "nobody") == (1, "no such user: nobody\n", "")
    assert run("--json", "users", "describe", "nobody") == (1, "{}\n", "")
    # Another user's password: the current one is asked for...
    assert run("--password-stdin", "users", "passwd", "user_1", stdin="P@ssw0rd\nS3cond-pass\n")[0] == 0
    MilvusClient(db, token="user_1:S3cond-pass").close()
    code, _, err = run("--password-stdin", "users", "passwd", "user_1", stdin="wrong\nTh1rd-pass\n")
    assert code == 1 and "old password not correct for user_1" in err
    # ...and one's own is known already.
    assert run("--user", "user_1", "--password-stdin", "users", "passwd", "user_1",
               stdin="S3cond-pass\nTh1rd-pass\n") == (0, "changed the password of user_1\n", "")
    MilvusClient(db, token="user_1:Th1rd-pass").close()
    assert run("users", "drop", "user_1") == (0, "dropped user user_1\n", "")


def test_a_new_user_keeps_its_description_where_the_profile_has_descriptions(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "described.db")
    MilvusClient(db, token=ROOT, profile="milvus-2.6", password_hash="fast").close()
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", ROOT)
    monkeypatch.setattr(sys, "stdin", io.StringIO("P@ssw0rd\n"))
    assert main(["--db", db, "--password-stdin", "users", "create", "user_1", "--description", "reads"]) == 0
    assert root_client(db).describe_user("user_1")["description"] == "reads"
    assert main(["--db", db, "roles", "create", "reader", "--description", "reads books"]) == 0
    assert root_client(db).backup_rbac()["roles"] == [{"role_name": "reader", "description": "reads books"}]


def test_password_stdin_keeps_spaces(run, db):
    """A password read from standard input is the whole line but its end: spaces inside and around it belong to it
    (for the caller's and the new user's alike)."""
    spaced = "  P@ss w0rd\t "
    assert run("--password-stdin", "users", "create", "user_s", stdin=f"{spaced}\n")[0] == 0
    MilvusClient(db, token=f"user_s:{spaced}").close()
    for stripped in (spaced.strip(), spaced.lstrip(), spaced.rstrip(), spaced.replace(" ", "")):
        with pytest.raises(AuthenticationError):
            MilvusClient(db, token=f"user_s:{stripped}")
    # The caller's own password, spaces and all, from the first line; a Windows line end is not part of it.
    assert run("--user", "user_s", "--password-stdin", "users", "describe", "user_s", stdin=f"{spaced}\r\n")[0] == 0


def test_passwd_reset_is_for_super_users(tmp_path, monkeypatch, capsys):
    path = str(tmp_path / "super.db")
    client = MilvusClient(path, token=ROOT, password_hash="fast", super_users=["root"])
    client.create_user("user_1", "P@ssw0rd")
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", ROOT)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Fresh-P@ss1\n"))
    assert main(["--db", path, "--password-stdin", "users", "passwd", "user_1", "--reset"]) == 0
    assert capsys.readouterr().out == "changed the password of user_1\n"
    MilvusClient(path, token="user_1:Fresh-P@ss1").close()


def test_prompts_at_a_terminal_ask_twice_for_new_passwords(db, monkeypatch, capsys):
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", ROOT)
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    prompts = []
    answers = iter(["P@ssw0rd", "Typo-P@ss", "P@ssw0rd", "P@ssw0rd"])

    def getpass(prompt=""):
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(SystemExit) as exit:
        main(["--db", db, "users", "create", "user_1"])
    assert exit.value.code == 2 and "the passwords do not match" in capsys.readouterr().err
    assert main(["--db", db, "users", "create", "user_1"]) == 0
    assert prompts == ["Password for new user user_1: ", "Repeat: "] * 2


def test_roles_grants_and_groups(run, db):
    assert run("roles", "create", "reader") == (0, "created role reader\n", "")
    assert run("roles", "list") == (0, "admin\npublic\nreader\n", "")
    assert run("grant", "privilege", "reader", "Search", "--object-type", "Collection", "--object", "books",
               "--database", "db1") == (0, "granted Search on Collection books in database db1 to role reader\n", "")
    code, out, _ = run("roles", "describe", "reader", "--database", "db1")
    assert code == 0 and "\nCollection   books        db1      Search     root\n" in out
    assert run("roles", "describe", "reader")[1] == "ROLE    DESCRIPTION\nreader\n\n(no grants)\n"
    assert run("revoke", "privilege", "reader", "Search", "--object-type", "Collection", "--object", "books",
               "--database", "db1")[1] == "revoked Search on Collection books in database db1 from role reader\n"
    # Grants v2 take the database too.
    assert run("grant", "privilege", "reader", "Query", "--collection", "books", "--database", "db1") == (
        0, "granted Query on collection books in database db1 to role reader\n", "")
    assert [(g["db_name"], g["privilege"]) for g in root_client(db).describe_role("reader", db_name="db1")[
        "privileges"]] == [("db1", "Query")]
    assert run("revoke", "privilege", "reader", "Query", "--collection", "books", "--database", "db1")[0] == 0
    assert run("grant", "privilege", "reader", "Search", "--object", "books")[0] == 2
    assert run("grant", "privilege", "reader", "Search", "--object-type", "Global", "--collection", "b")[0] == 2
    assert run("groups", "create", "readers") == (0, "created privilege group readers\n", "")
    assert run("groups", "add", "readers", "Query", "Search")[1] == "added Query, Search to privilege group readers\n"
    assert run("groups", "remove", "readers", "Query") == (0, "removed Query from privilege group readers\n", "")
    code, out, _ = run("--json", "groups", "list")
    assert json.loads(out)[0] == {"privilege_group": "readers", "privileges": ["Search"]}
    assert run("groups", "list")[1].splitlines()[1].split() == ["readers", "Search"]
    assert run("grant", "privilege", "reader", "readers", "--collection", "books")[0] == 0
    assert run("groups", "drop", "readers")[0] == 1  # in use
    assert run("grant", "role", "root", "reader") == (0, "granted role reader to root\n", "")
    assert root_client(db).describe_user("root")["roles"] == ("reader",)
    assert run("revoke", "role", "root", "reader") == (0, "revoked role reader from root\n", "")
    assert root_client(db).describe_user("root")["roles"] == ()
    assert run("roles", "drop", "reader")[0] == 1  # it has grants
    assert run("roles", "drop", "reader", "--force") == (0, "dropped role reader\n", "")
    assert run("groups", "drop", "readers") == (0, "dropped privilege group readers\n", "")


def test_grants_describe_check_and_json_errors_with_a_token_from_the_environment(run, db):
    for step in [
        ["roles", "create", "reader"],
        ["users", "create", "user_1"],
        ["grant", "role", "user_1", "reader"],
        ["grant", "privilege", "reader", "CollectionReadOnly", "--collection", "books"],
        ["grant", "privilege", "reader", "CreateOwnership", "--object-type", "Global"],
    ]:
        assert run("--password-stdin", *step, stdin="P@ssw0rd\n")[0] == 0, step
    code, out, _ = run("--json", "roles", "describe", "reader")
    assert json.loads(out) == root_client(db).describe_role("reader")
    assert run("check", "user_1", "Search", "--object-type", "Collection", "--object", "books")[1] == (
        "allowed: role reader grants CollectionReadOnly on Global books in database default "
        "(privilege group CollectionReadOnly)\n"
    )
    code, out, _ = run("--json", "check", "user_1", "Search", "--object-type", "Collection", "--object", "cars")
    assert json.loads(out)["allowed"] is False
    code, out, err = run("--json", "roles", "drop", "admin")
    assert (code, out) == (1, "")
    assert json.loads(err)["error"] == {
        "type": "MilvusException",
        "code": 1401,
        "message": "the role[admin] is a default role, which can't be dropped: privilege not permitted",
    }


def test_usage_errors_exit_2(run, tmp_path, capsys):
    for args, stdin, message in [
        (["users", "frob"], "", "invalid choice: 'frob'"),
        (["--user", "root", "--password-stdin", "users", "create", "user_1"], "Milvus\n",
         "expected a password on standard input (Password for new user user_1)"),
        (["import", str(tmp_path / "missing.json")], "", "cannot read"),
    ]:
        code, _, err = run(*args, stdin=stdin)
        assert code == 2, (args, err)
        assert message in err, (args, err)
    for args in (["users", "list"], ["--uri", "http://127.0.0.1:9", "--profile", "milvus-2.6", "users", "list"]):
        with pytest.raises(SystemExit) as exit:
            main(args)
        assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "give the registry: --db FILE or --uri URL" in err and "--profile applies to registry files" in err


def test_check_explains_every_reason(run, db):
    root_client(db).create_user("user_1", "P@ssw0rd")
    assert run("check", "root", "CreateOwnership")[1] == "allowed: root is root, who may do everything\n"
    code, _, err = run("check", "root", "Search", "--object-type", "Table")
    assert code == 2 and "argument --object-type: invalid choice: 'Table'" in err
    assert run("check", "user_1", "UpdateUser", "--object-type", "User", "--object", "user_1")[1] == (
        "allowed: users may do this to themselves (UpdateUser on User user_1 in database default)\n"
    )
    assert run("check", "user_1", "CreateOwnership")[1] == (
        "denied: no role of user_1 grants CreateOwnership on Global * in database default\n"
    )
    root_client(db).grant_role("user_1", "admin")
    assert run("check", "user_1", "CreateOwnership")[1] == "allowed: user_1 holds the admin role\n"


def test_import_refuses_what_is_not_a_backup(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run("import", str(bad))
    assert code == 2 and "is not JSON" in err
    bad.write_text('{"version": 99}')
    code, _, err = run("import", str(bad))
    assert code == 1 and "invalid RBAC backup" in err
    code, _, err = run("export", str(tmp_path / "no" / "such" / "dir.json"))
    assert code == 2 and "cannot write" in err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for command in ("users", "roles", "grant", "revoke", "groups", "check", "export", "import", "serve"):
        assert command in out
    assert "never taken from the" in out


@pytest.mark.parametrize("action, says", [("grant", "grant a role to a user"), ("revoke", "revoke a role from a user")])
def test_each_verbs_help_says_which_way_the_role_goes(capsys, action, says):
    with pytest.raises(SystemExit) as exit:
        main([action, "--help"])
    assert exit.value.code == 0
    assert says in capsys.readouterr().out


def test_authentication_errors_without_credentials_hint_at_them(db, monkeypatch, capsys):
    monkeypatch.delenv("MILVUS_RBAC_TOKEN", raising=False)
    assert main(["--db", db, "roles", "list"]) == 1
    assert "connect with --user USER" in capsys.readouterr().err
    # Wrong credentials, or another error without any: no hint.
    monkeypatch.setenv("MILVUS_RBAC_TOKEN", "root:wrong")
    assert main(["--db", db, "roles", "list"]) == 1
    assert capsys.readouterr().err == (
        "milvus-rbac: auth check failure, please check username and password are correct (code 2)\n")
    open_db = str(Path(db).with_name("open.db"))
    MilvusClient(open_db, token=ROOT, authorization_enabled=False, password_hash="fast").close()
    monkeypatch.delenv("MILVUS_RBAC_TOKEN")
    assert main(["--db", open_db, "roles", "create", "bad name"]) == 1
    assert "connect with" not in capsys.readouterr().err
    with pytest.raises(AuthenticationError):
        MilvusClient(db)


def test_since_counts_back_in_each_unit(monkeypatch):
    from milvus_rbac.cli import _since

    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    for text, seconds in [("90s", 90), ("2m", 120), ("2h", 7200), ("1.5d", 129600), ("1w", 604800)]:
        assert now - _since(text) == seconds, text
    assert _since("2026-12-04T10:00:00Z") == 1796378400.0


@pytest.mark.parametrize("option,value,command", [("--protocol", "soap", ["users", "list"]),
                                                  ("--profile", "milvus-9", ["users", "list"]),
                                                  ("--format", "xml", ["export", "out.json"]),
                                                  ("--object-type", "Table", ["grant", "privilege", "r", "Search"])])
def test_an_unknown_protocol_profile_or_format_is_a_usage_error(option, value, command, tmp_path, capsys):
    db = str(tmp_path / "rbac.db")
    try:
        code = main(["--db", db, *command, option, value])
    except SystemExit as exited:
        code = exited.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: milvus-rbac ") and f"argument {option}: invalid choice: '{value}'" in err
    assert not os.path.exists(db)


@pytest.mark.parametrize("args,missing", [
    ([], "milvus-rbac: error: the following arguments are required: COMMAND"),
    (["users"], "milvus-rbac users: error: the following arguments are required: ACTION"),
    (["roles"], "milvus-rbac roles: error: the following arguments are required: ACTION"),
    (["groups"], "milvus-rbac groups: error: the following arguments are required: ACTION"),
    (["policy"], "milvus-rbac policy: error: the following arguments are required: ACTION"),
    (["grant"], "milvus-rbac grant: error: the following arguments are required: WHAT"),
    (["revoke"], "milvus-rbac revoke: error: the following arguments are required: WHAT"),
])
def test_a_command_and_its_action_are_required(args, missing, capsys):
    try:
        code = main(args)
    except SystemExit as exited:
        code = exited.code
    assert code == 2
    assert capsys.readouterr().err.endswith(missing + "\n")


def test_serve_defaults_are_those_its_help_and_the_readme_give():
    from milvus_rbac.cli import _parser

    args = _parser().parse_args(["serve"])
    assert (args.db, args.host, args.port, args.log_level) == ("./rbac.db", "127.0.0.1", 19530, "info")
    assert (args.max_failed_logins, args.max_failed_logins_per_address, args.max_connections) == (30, 0, None)
    assert (args.idle_timeout, args.header_timeout) == (60.0, 10.0)


def test_serve_takes_only_milvuss_log_levels_and_known_profiles(capsys):
    from milvus_rbac.cli import _parser

    assert [_parser().parse_args(["serve", "--log-level", level]).log_level
            for level in ("error", "warn", "info", "debug")] == ["error", "warn", "info", "debug"]
    for option, value in [("--log-level", "loud"), ("--profile", "milvus-9"), ("--password-hash", "weak")]:
        with pytest.raises(SystemExit) as exited:
            _parser().parse_args(["serve", option, value])
        assert exited.value.code == 2 and f"argument {option}: invalid choice: '{value}'" in capsys.readouterr().err


def test_audit_table_shows_records_without_a_user_as_a_dash(run, db):
    lines = run("audit")[1].splitlines()
    assert lines[0].split()[:4] == ["SEQ", "TIME", "USER", "OPERATION"]
    assert lines[1].split()[2:4] == ["-", "create_registry"]


def test_copy_refuses_to_call_a_lossy_copy_done(tmp_path):
    """A copy into a line without descriptions cannot hold them: the command says so instead of succeeding."""
    source = str(tmp_path / "described.db")
    client = MilvusClient(source, token=ROOT, profile="milvus-2.6", password_hash="fast")
    client.create_role("reader", description="reads books")
    copy = str(tmp_path / "plain.db")
    MilvusClient(copy, token=ROOT, profile="milvus-2.5", password_hash="fast").close()
    done = cli("copy", source, copy, MILVUS_RBAC_TOKEN=ROOT)
    assert (done.returncode, done.stderr) == (
        1, f"milvus-rbac: {copy} does not hold what was copied: its users, roles, grants or groups differ "
           "(code 1)\n")


def test_json_output_is_indented(run):
    assert run("--json", "roles", "list") == (0, '[\n  "admin",\n  "public"\n]\n', "")


def test_a_reader_that_goes_away_ends_the_command_quietly(db):
    """`milvus-rbac ... | head -0`: the closed pipe ends the command with status 1 and no traceback."""
    command = subprocess.Popen([CLI, "--db", db, "users", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment(MILVUS_RBAC_TOKEN=ROOT))
    command.stdout.close()
    _, err = command.communicate(timeout=60)
    assert (command.returncode, err) == (1, b"")


def test_an_interrupt_at_a_prompt_ends_the_command_with_130(db):
    command = subprocess.Popen([CLI, "--db", db, "users", "create", "u"], stdin=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=environment(MILVUS_RBAC_TOKEN=ROOT), start_new_session=True)
    written = b""
    while not written.endswith(b"Password for new user u: "):  # no terminal: getpass prompts on stderr
        chunk = command.stderr.read1(1024)
        assert chunk, written
        written += chunk
    command.send_signal(signal.SIGINT)
    _, err = command.communicate(timeout=60)
    assert (command.returncode, err) == (130, b"\n")
    assert "u" not in root_client(db).list_users()
