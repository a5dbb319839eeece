from odoo import models


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    def _load_module_terms(self, modules, langs, overwrite=False, imported_module=False):
        """When the suite's terms are loaded for a language, its accounts and journals get their
        names in that language too (they have no external id to carry a translation)."""
        result = super()._load_module_terms(
            modules, langs, overwrite=overwrite, imported_module=imported_module
        )
        if "canteen_card" in modules:
            self.env["res.company"].sudo().search([])._canteen_translate_names(langs)  # pylint: disable=no-search-all
        return result
