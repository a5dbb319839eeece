"""Face identification through a real bridge process (canteen_face installed): a terminal's
picture identified, a charge by `face_image`, a face enrolled while the bridge runs found at
once (its LISTEN connection hears the enrolment commit), a withdrawn face never again, and the
answers when there is no face, several, or a stranger."""

import base64
import os
import time

import pytest
from bridge_harness import BridgeProcess, load_simulator
from conftest import ROOT, environment

SIMULATOR = load_simulator()
FACES = ROOT.parent / "shared" / "testdata" / "faces"


def picture(name):
    return base64.b64encode((FACES / name).read_bytes()).decode()


def enrol(registry, employee_id, name):
    with environment(registry) as env:
        face = env["canteen.face"]._enrol(env["hr.employee"].browse(employee_id), (FACES / name).read_bytes())
        assert face.state == "valid", face.rejection_message
        env.cr.commit()
        return face.id, face.employee_id.canteen_face_id


@pytest.fixture(scope="module")
def site(odoo_registry):
    with environment(odoo_registry) as env:
        setup = SIMULATOR.provision(
            env, dedup_window=0, terminals=1, cardholders=3, modes=("free",), meal_periods=[("lunch", 0, 24)]
        )
    setup["obama"] = enrol(odoo_registry, setup["cardholders"][0]["employee_id"], "obama.jpg")
    return setup


@pytest.fixture(scope="module")
def bridge(site):
    process = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    yield process
    assert process.stop() == 0


def identify(client, name):
    return client.request("POST", "/api/v1/faces/identify", {"image": picture(name)})


def test_identify_and_charge_by_face_image(bridge, site):
    client = bridge.client(site["terminals"][0])
    obama = site["cardholders"][0]
    status, answer = identify(client, "obama2.jpg")
    assert status == 200, answer
    match = answer["match"]
    assert (match["face_id"], match["employee_no"]) == (site["obama"][1], obama["employee_no"])
    assert 0 < float(match["distance"]) <= 0.5
    assert identify(client, "biden.jpg") == (200, {"match": None, "reason": "no_match"})
    assert identify(client, "two_people.jpg") == (200, {"match": None, "reason": "several_faces"})
    status, answer = client.request("POST", "/api/v1/faces/identify", {"image": "bm90IGFuIGltYWdl" * 8})
    assert status == 400 and answer["error"] == "bad_request"

    status, answer = client.charge({"type": "face_image", "value": picture("obama3.jpg")}, "3.00")
    assert status == 200 and answer["status"] == "approved", answer
    assert answer["cardholder"]["employee_no"] == obama["employee_no"]
    assert answer["balances"]["cash"] == "97.00"
    assert answer["face"]["face_id"] == site["obama"][1]
    status, answer = client.charge({"type": "face_image", "value": picture("biden.jpg")}, "3.00")
    assert (status, answer["status"], answer["reason"]) == (200, "declined", "unknown_identity")
    assert answer["face"] == {"reason": "no_match"}


def test_enrolment_and_withdrawal_seen_without_restart(bridge, site, odoo_registry):
    client = bridge.client(site["terminals"][0])
    biden = site["cardholders"][1]
    assert identify(client, "biden2.jpg")[1]["match"] is None
    started = time.monotonic()
    face_id, face_code = enrol(odoo_registry, biden["employee_id"], "biden.jpg")
    # The very next request after the commit finds the new face (the NOTIFY took milliseconds).
    status, answer = identify(client, "biden2.jpg")
    assert status == 200 and answer["match"]["face_id"] == face_code, answer
    assert time.monotonic() - started < 10  # the picture's analysis is most of it
    with environment(odoo_registry) as env:
        env["canteen.face"].browse(face_id).action_withdraw()
        env.cr.commit()
    assert identify(client, "biden2.jpg") == (200, {"match": None, "reason": "no_match"})
