import itertools

from odoo.tests import TransactionCase, tagged

from .delivery_common import DeliveryMixin


@tagged("post_install", "-at_install")
class TestServedLists(DeliveryMixin, TransactionCase):
    """A terminal's black and white lists cover the cards of its company and its branches and
    the cards the group's settings accept at its merchant (Cards Across the Group), in the
    snapshot and in the change stream; a change of those settings makes the terminals it
    concerns reload their lists."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Company = cls.env["res.company"]
        cls.hq = Company.create({"name": "Served HQ"})
        cls.north = Company.create({"name": "Served North", "parent_id": cls.hq.id})
        cls.south = Company.create({"name": "Served South", "parent_id": cls.hq.id})
        cls.env.user.company_ids |= cls.hq | cls.north | cls.south
        Merchant = cls.env["canteen.merchant"]
        cls.hq_canteen = Merchant.create({"name": "Served HQ Canteen", "company_id": cls.hq.id})
        cls.south_canteen = Merchant.create({"name": "Served South Canteen", "company_id": cls.south.id})
        Terminal = cls.env["canteen.terminal"]
        cls.hq_till = Terminal.create(
            {
                "name": "HQ Till",
                "number": 1,
                "serial": "SRV-HQ",
                "company_id": cls.hq.id,
                "merchant_id": cls.hq_canteen.id,
            }
        )
        cls.south_till = Terminal.create(
            {
                "name": "South Till",
                "number": 1,
                "serial": "SRV-S",
                "company_id": cls.south.id,
                "merchant_id": cls.south_canteen.id,
            }
        )
        # Without a merchant a terminal stands for its company.
        cls.north_gate = Terminal.create(
            {"name": "North Gate", "number": 1, "serial": "SRV-N", "company_id": cls.north.id}
        )
        cls.cards = {}
        for code, company in (("HQ", cls.hq), ("N", cls.north), ("S", cls.south)):
            employee = cls.env["hr.employee"].create({"name": f"Served {code}", "company_id": company.id})
            cls.cards[code] = cls.env["canteen.card"].create(
                {"employee_id": employee.id, "uid": f"SRV{code}"}
            )

    def drain(self, terminal, cursor=0):
        """Poll until nothing is left: (cursor, [(type, uid)] received, list.reset left out),
        and whether a snapshot came."""
        self.number()
        received, reloaded = [], False
        while True:
            answer = self.poll(terminal, cursor)
            for command in answer["commands"]:
                if command["type"] == "list.reset":
                    received, reloaded = [], True  # the terminal clears both lists
                else:
                    received.append((command["type"], command["payload"]["uid"]))
            if answer["cursor"] == cursor and not answer.get("snapshot", {}).get("more"):
                return cursor, received, reloaded
            cursor = answer["cursor"]

    def whitelisted(self, received):
        return {uid for kind, uid in received if kind == "whitelist.add"}

    def start(self):
        """Every terminal's whole list, as after its first polls: {terminal: cursor}."""
        return {t: self.drain(t)[0] for t in (self.hq_till, self.south_till, self.north_gate)}

    def reset_asked(self):
        self.env.invalidate_all()
        return {t for t in (self.hq_till, self.south_till, self.north_gate) if t.list_reset}

    def test_sibling_cards_are_listed_only_where_their_company_accepts_them(self):
        self.assertEqual(self.whitelisted(self.drain(self.hq_till)[1]), {"SRVHQ", "SRVN", "SRVS"})
        self.assertEqual(self.whitelisted(self.drain(self.south_till)[1]), {"SRVS"})
        self.assertEqual(self.whitelisted(self.drain(self.north_gate)[1]), {"SRVN"})
        cursors = self.start()

        # North's cards are accepted at its siblings' merchants: South's till reloads its list.
        self.north.canteen_cards_at_siblings = True
        self.assertEqual(self.reset_asked(), {self.south_till})
        cursor, received, reloaded = self.drain(self.south_till, cursors[self.south_till])
        self.assertTrue(reloaded)
        self.assertEqual(self.whitelisted(received), {"SRVN", "SRVS"})
        self.assertFalse(self.reset_asked(), "the snapshot did the reset")
        cursors[self.south_till] = cursor

        # Then the changes, once each, of the cards each terminal serves; HQ's card is never on
        # South's list (HQ does not accept its cards at its branches).
        self.cards["N"].action_report_loss()
        self.cards["HQ"].action_report_loss()
        self.number()
        self.env.invalidate_all()
        self.assertEqual(self.south_till.list_behind, 1)
        expected = {
            self.hq_till: [("blacklist.add", "SRVN"), ("blacklist.add", "SRVHQ")],
            self.south_till: [("blacklist.add", "SRVN")],
            self.north_gate: [("blacklist.add", "SRVN")],
        }
        for terminal, changes in expected.items():
            cursors[terminal], received, reloaded = self.drain(terminal, cursors[terminal])
            self.assertEqual((received, reloaded), (changes, False), terminal.name)
            self.assertEqual(self.drain(terminal, cursors[terminal])[1], [], "nothing twice")

        # Refused again: South's till drops North's cards.
        self.north.canteen_cards_at_siblings = False
        self.assertEqual(self.reset_asked(), {self.south_till})
        _cursor, received, reloaded = self.drain(self.south_till, cursors[self.south_till])
        self.assertTrue(reloaded)
        self.assertEqual({uid for _kind, uid in received}, {"SRVS"})
        # A setting that changes no terminal's cards asks no reload (South has no branches).
        self.south.canteen_cards_at_branches = True
        self.assertFalse(self.reset_asked())

    def test_a_branch_refusing_its_cards_at_its_parents_leaves_their_lists(self):
        """Exactly what the charge path accepts: a branch whose cards may not pay at its parents'
        merchants is not on their lists (a whitelist would let it pay offline, and the upload
        would be declined), and comes back when it accepts again."""
        cursors = self.start()
        self.north.canteen_cards_at_parent = False
        self.assertEqual(self.reset_asked(), {self.hq_till})
        cursors[self.hq_till], received, reloaded = self.drain(self.hq_till, cursors[self.hq_till])
        self.assertTrue(reloaded)
        self.assertEqual(self.whitelisted(received), {"SRVHQ", "SRVS"})
        self.cards["N"].action_report_loss()
        self.number()
        self.assertEqual(self.drain(self.hq_till, cursors[self.hq_till])[1], [])
        north_gate = self.drain(self.north_gate, cursors[self.north_gate])[1]
        self.assertEqual(north_gate, [("blacklist.add", "SRVN")])
        self.north.canteen_cards_at_parent = True
        self.assertEqual(self.reset_asked(), {self.hq_till})
        self.assertIn(("blacklist.add", "SRVN"), self.drain(self.hq_till, cursors[self.hq_till])[1])

    def test_parent_cards_at_branches_and_a_terminal_changing_merchant(self):
        cursors = self.start()
        self.hq.canteen_cards_at_branches = True
        self.assertEqual(self.reset_asked(), {self.south_till, self.north_gate})
        self.assertEqual(
            self.whitelisted(self.drain(self.south_till, cursors[self.south_till])[1]), {"SRVHQ", "SRVS"}
        )
        self.assertEqual(
            self.whitelisted(self.drain(self.north_gate, cursors[self.north_gate])[1]), {"SRVHQ", "SRVN"}
        )
        cursor = self.drain(self.south_till)[0]
        # South's till now charges at HQ's canteen: North's cards (accepted at their parent's
        # merchants) are served there too.
        self.south_till.merchant_id = self.hq_canteen
        self.assertEqual(self.reset_asked(), {self.south_till})
        self.assertEqual(self.whitelisted(self.drain(self.south_till, cursor)[1]), {"SRVHQ", "SRVN", "SRVS"})

    def test_a_merchant_moving_to_another_company(self):
        """A merchant's company decides which cards its terminals serve: moving the merchant
        makes them reload their lists, as a terminal changing merchant does."""
        cursor = self.start()[self.south_till]
        self.south_canteen.company_id = self.hq
        self.assertEqual(self.reset_asked(), {self.south_till})
        self.assertEqual(self.whitelisted(self.drain(self.south_till, cursor)[1]), {"SRVHQ", "SRVN", "SRVS"})

    def test_the_sql_rule_is_the_python_rule(self):
        """What the bridge serves (tools/served_sql.py, on charge_sql.ALLOWED) is what Odoo
        reckons with res.company._canteen_accepts_cards_at, for every setting of North and HQ."""
        terminals = self.hq_till | self.south_till | self.north_gate  # each at its own company
        names = ("canteen_cards_at_parent", "canteen_cards_at_siblings", "canteen_cards_at_branches")
        for north, hq_branches in itertools.product(
            itertools.product((False, True), repeat=3), (False, True)
        ):
            self.north.write(dict(zip(names, north, strict=True)))
            self.hq.canteen_cards_at_branches = hq_branches
            served = terminals._canteen_served_company_ids()
            for terminal in terminals:
                self.assertEqual(
                    served[terminal.id],
                    set(terminal.company_id._canteen_served_companies().ids),
                    f"{terminal.name}, North {north}, HQ at branches {hq_branches}",
                )
