"""Kiosk top-ups and attendance through a real bridge process: allowed and refused amounts, a
replay, the books after the booking job; check-in and check-out from an attendance point."""

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from bridge_harness import BridgeProcess
from conftest import ROOT, environment


@pytest.fixture(scope="module")
def site(odoo_registry):
    """A kiosk, an attendance gate and two cardholders of the demo group's head company (its
    chart is loaded already: a company of its own would cost a chart, tens of seconds)."""
    with environment(odoo_registry) as env:
        company = env.ref("base.main_company")
        if not company.canteen_payment_journal_id:
            pytest.skip("needs the demo data (the head company's chart and payment journal)")
        tag = uuid.uuid4().hex[:6].upper()
        env = env(context=dict(env.context, allowed_company_ids=[company.id]))  # noqa: PLW2901
        Terminal = env["canteen.terminal"].with_context(active_test=False)
        number = max(Terminal.search([("company_id", "=", company.id)]).mapped("number") or [0]) + 1
        common = {"company_id": company.id}
        kiosk = Terminal.create(
            dict(
                common,
                name=f"Kiosk {tag}",
                number=number,
                serial=f"KIOSK-{tag}",
                kind="kiosk",
                topup_amounts="50,100,200",
                topup_journal_id=company.canteen_payment_journal_id.id,
            )
        )
        gate = Terminal.create(
            dict(
                common,
                name=f"Gate {tag}",
                number=number + 1,
                serial=f"GATE-{tag}",
                kind="face",
                attendance_point=True,
            )
        )
        people = env["hr.employee"].create(
            [
                {"name": f"Kiosk {tag} {n}", "employee_no": f"K{tag}{n}", "company_id": company.id}
                for n in range(2)
            ]
        )
        env["canteen.card"].create([{"employee_id": e.id, "uid": f"K{tag}{e.id:08X}"} for e in people])
        people._canteen_ensure_face_id()
        before = env["canteen.reconciliation"]._differences(company)
        env.cr.commit()
        return {
            "company_id": company.id,
            "reconciliation": before,
            "terminals": [{"id": t.id, "serial": t.serial, "secret": t.sudo().secret} for t in (kiosk, gate)],
            "cardholders": [
                {
                    "employee_id": e.id,
                    "employee_no": e.employee_no,
                    "card": e.current_card_id.uid,
                    "face": e.canteen_face_id,
                }
                for e in people
            ],
        }


@pytest.fixture(scope="module")
def bridge(site):
    process = BridgeProcess(os.environ["CANTEEN_TEST_DB"]).start()
    yield process
    assert process.stop() == 0


def post(client, path, identity, seq, **fields):
    payload = {"seq": seq, "identity": identity, "occurred_at": datetime.now(UTC).isoformat(), **fields}
    return client.request("POST", path, payload)


def test_kiosk_top_ups(bridge, site, odoo_registry):
    kiosk, gate = (bridge.client(terminal) for terminal in site["terminals"])
    holder = site["cardholders"][0]
    card = {"type": "card", "value": holder["card"]}
    status, answer = post(kiosk, "/api/v1/topups", card, 1, amount="100.00")
    assert status == 200 and answer["status"] == "approved", answer
    assert answer["balances"] == {"cash": "100.00", "subsidy": "0.00"}
    assert answer["cardholder"]["employee_no"] == holder["employee_no"]
    # A replay (the kiosk lost the answer) credits nothing more, whatever the body says.
    assert post(kiosk, "/api/v1/topups", card, 1, amount="200.00") == (200, dict(answer, replayed=True))
    status, answer = post(kiosk, "/api/v1/topups", card, 2, amount="70.00")
    assert (status, answer["status"], answer["reason"]) == (200, "declined", "amount_not_allowed")
    status, answer = post(
        kiosk, "/api/v1/topups", {"type": "employee", "value": holder["employee_no"]}, 3, amount="50.00"
    )
    assert answer["balances"]["cash"] == "150.00", answer
    status, answer = post(kiosk, "/api/v1/topups", card, 4, amount=50)
    assert (status, answer["error"]) == (400, "bad_request")
    status, answer = post(gate, "/api/v1/topups", card, 1, amount="50.00")
    assert (status, answer["error"]) == (403, "not_a_kiosk")
    status, answer = kiosk.balance(card)
    assert answer["balances"]["cash"] == "150.00"

    with environment(odoo_registry) as env:
        company = env["res.company"].browse(site["company_id"])
        topups = env["canteen.terminal.topup"].search([("terminal_id", "=", site["terminals"][0]["id"])])
        assert sorted(topups.mapped("status")) == ["approved", "approved", "declined"]
        assert env["ir.cron.trigger"].search_count(
            [("cron_id", "=", env.ref("canteen_pos_bridge.ir_cron_book_kiosk_topups").id)]
        )
        env["canteen.terminal.topup"]._cron_book()
        assert all(t.move_id.state == "posted" for t in topups if t.status == "approved")
        # Booked like a desk top-up: the reconciliation is what it was before the top-ups.
        assert env["canteen.reconciliation"]._differences(company) == site["reconciliation"]
        env.cr.commit()


def test_attendance_check_in_and_out(bridge, site, odoo_registry):
    kiosk, gate = (bridge.client(terminal) for terminal in site["terminals"])
    holder = site["cardholders"][1]
    face = {"type": "face", "value": holder["face"]}
    morning = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    answers = []
    for seq, moment in ((1, morning), (2, morning + timedelta(hours=2))):
        payload = {"seq": seq, "identity": face, "occurred_at": moment.isoformat()}
        status, answer = gate.request("POST", "/api/v1/attendance", payload)
        assert status == 200 and answer["status"] == "recorded", answer
        answers.append(answer)
    payload = {"seq": 2, "identity": face, "occurred_at": morning.isoformat()}
    assert gate.request("POST", "/api/v1/attendance", payload) == (200, dict(answers[1], replayed=True))
    status, answer = post(gate, "/api/v1/attendance", {"type": "card", "value": "NOBODY"}, 3)
    assert (status, answer["status"], answer["reason"]) == (200, "declined", "unknown_identity")
    status, answer = post(kiosk, "/api/v1/attendance", face, 9)
    assert (status, answer["error"]) == (403, "not_attendance_point")

    with environment(odoo_registry) as env:
        events = env["canteen.attendance.event"]._cron_process()
        events = events.filtered(lambda event: event.terminal_id.id == site["terminals"][1]["id"])
        assert events.mapped("state") == ["check_in", "check_out"]
        attendance = env["hr.attendance"].search([("employee_id", "=", holder["employee_id"])])
        assert len(attendance) == 1
        assert attendance.check_in == morning.replace(tzinfo=None)
        assert attendance.check_out == (morning + timedelta(hours=2)).replace(tzinfo=None)
        env.cr.commit()


def test_kiosk_top_up_by_face_picture(bridge, site, odoo_registry):
    """With canteen_face: a kiosk that sends a picture tops up the person it shows."""
    faces = ROOT.parent / "shared" / "testdata" / "faces"
    holder = site["cardholders"][0]
    with environment(odoo_registry) as env:
        if "canteen.face" not in env or not faces.is_dir():
            pytest.skip("needs canteen_face and the test photos")
        face = env["canteen.face"]._enrol(
            env["hr.employee"].browse(holder["employee_id"]), (faces / "obama.jpg").read_bytes()
        )
        assert face.state == "valid", face.rejection_message
        env.cr.commit()
    kiosk = bridge.client(site["terminals"][0])
    picture = {"type": "face_image", "value": base64.b64encode((faces / "obama2.jpg").read_bytes()).decode()}
    status, answer = post(kiosk, "/api/v1/topups", picture, 10, amount="50.00")
    assert status == 200 and answer["status"] == "approved", answer
    assert answer["cardholder"]["employee_no"] == holder["employee_no"]
    assert answer["face"]["face_id"] == holder["face"]
    with environment(odoo_registry) as env:
        topup = env["canteen.terminal.topup"].search(
            [("terminal_id", "=", site["terminals"][0]["id"]), ("seq", "=", 10)]
        )
        assert (topup.identity_type, topup.identity_value) == ("face_image", holder["face"])
        env["canteen.terminal.topup"]._cron_book()
        env.cr.commit()
