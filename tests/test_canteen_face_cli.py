"""The face import command against the test database: a folder and a zip of photos named by
employee number, refused files listed, the summary, exit status 0, and the bridge's channel
told of each new face (LISTEN canteen_face) once the batch commits."""

import json
import os
import select
import subprocess
import sys
import uuid
import zipfile

import psycopg2
import pytest
from conftest import ROOT, environment

FACES = ROOT.parent / "shared" / "testdata" / "faces"


@pytest.fixture(scope="module")
def people(odoo_registry):
    tag = uuid.uuid4().hex[:6]
    with environment(odoo_registry) as env:
        company = env["res.company"].create({"name": f"Face Import {tag}"})
        numbers = {"obama": f"F{tag}1", "biden": f"F{tag}2"}
        employees = {
            key: env["hr.employee"].create({"name": key, "employee_no": number, "company_id": company.id}).id
            for key, number in numbers.items()
        }
        env.cr.commit()
        return {"company": company.id, "numbers": numbers, "employees": employees, "tag": tag}


def run_command(path, company):
    command = [
        sys.executable,
        "-m",
        "odoo",
        f"--addons-path={ROOT / 'addons'}",
        "canteen-face-import",
        "-c",
        str(ROOT / "odoo.conf"),
        "-d",
        os.environ["CANTEEN_TEST_DB"],
        str(path),
        "--company",
        str(company),
        "--db_host",
        os.environ["CANTEEN_DB_HOST"],
        "--db_port",
        str(os.environ["CANTEEN_DB_PORT"]),
        "--db_user",
        os.environ["CANTEEN_DB_USER"],
        "--db_password",
        os.environ["CANTEEN_DB_PASSWORD"],
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def listener():
    connection = psycopg2.connect(
        dbname=os.environ["CANTEEN_TEST_DB"],
        host=os.environ["CANTEEN_DB_HOST"],
        port=os.environ["CANTEEN_DB_PORT"],
        user=os.environ["CANTEEN_DB_USER"],
        password=os.environ["CANTEEN_DB_PASSWORD"],
    )
    connection.autocommit = True
    connection.cursor().execute("LISTEN canteen_face")
    return connection


def notifications(connection, timeout=5):
    select.select([connection], [], [], timeout)
    connection.poll()
    found = [json.loads(n.payload) for n in connection.notifies]
    connection.notifies.clear()
    return found


def faces_of(registry, employee_id):
    with environment(registry) as env:
        faces = env["canteen.face"].sudo().search([("employee_id", "=", employee_id)], order="id")
        return [(f.id, f.state, f.is_current, f.source, f.rejection_reason) for f in faces]


def test_import_folder_then_zip(tmp_path, people, odoo_registry):
    numbers = people["numbers"]
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / f"{numbers['obama']}.jpg").write_bytes((FACES / "obama.jpg").read_bytes())
    (folder / f"{numbers['biden']}.jpg").write_bytes((FACES / "two_people.jpg").read_bytes())
    (folder / f"X{people['tag']}9.jpg").write_bytes((FACES / "biden.jpg").read_bytes())
    connection = listener()
    try:
        done = run_command(folder, people["company"])
        assert done.returncode == 0, done.stderr[-3000:]
        refused = dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
        assert set(refused) == {f"{numbers['biden']}.jpg", f"X{people['tag']}9.jpg"}
        assert "2 faces were found" in refused[f"{numbers['biden']}.jpg"]
        assert "No cardholder has the employee number" in refused[f"X{people['tag']}9.jpg"]
        assert "3 files: 1 enrolled, 2 refused" in done.stdout
        assert "3/3 photos" in done.stderr
        first = faces_of(odoo_registry, people["employees"]["obama"])
        assert [(state, current, source) for _id, state, current, source, _r in first] == [
            ("valid", True, "command")
        ]
        assert faces_of(odoo_registry, people["employees"]["biden"])[0][1:] == (
            "rejected",
            False,
            "command",
            "several_faces",
        )
        told = notifications(connection)
        assert {"op": "upsert", "face_id": first[0][0]}.items() <= told[0].items()
        assert told[0]["company_id"] == people["company"]

        archive = tmp_path / "photos.zip"
        with zipfile.ZipFile(archive, "w") as handle:
            handle.writestr(f"batch/{numbers['obama']}.jpg", (FACES / "obama2.jpg").read_bytes())
        done = run_command(archive, people["company"])
        assert done.returncode == 0, done.stderr[-3000:]
        assert "1 files: 1 enrolled, 0 refused" in done.stdout
        second = faces_of(odoo_registry, people["employees"]["obama"])
        assert [(state, current) for _id, state, current, _s, _r in second] == [
            ("replaced", False),
            ("valid", True),
        ]
        told = notifications(connection)
        assert [(n["op"], n["face_id"]) for n in told] == [("delete", second[0][0]), ("upsert", second[1][0])]
    finally:
        connection.close()


def test_missing_path_is_a_usage_error(people):
    done = run_command(ROOT / "no-such-folder", people["company"])
    assert done.returncode == 2
    assert "no such folder or file" in done.stderr
