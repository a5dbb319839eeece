"""One real PDF of the daily consumption summary (每日消费汇总表), printed by wkhtmltopdf in
Chinese, turned into a PNG with pdftoppm: the page holds the title and the Chinese labels, and
the picture is not blank (the CJK font rendered glyphs, not empty boxes of nothing)."""

import shutil
import subprocess
import unicodedata
from datetime import date

import pytest
from conftest import ROOT, environment

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("wkhtmltopdf", "pdftoppm", "pdftotext")),
    reason="needs wkhtmltopdf and poppler-utils (the dev scripts install them)",
)


def test_daily_summary_pdf_in_chinese(odoo_registry, tmp_path):
    with environment(odoo_registry) as root:
        try:
            root["res.lang"]._activate_lang("zh_CN")
            root["ir.module.module"].search([("name", "=", "canteen_report")])._update_translations(["zh_CN"])
            env = root(context={"lang": "zh_CN", "tz": "Asia/Shanghai"})
            company = env.company.name
            wizard = env["canteen.report.wizard"].create(
                {"report_kind": "daily_meal", "date_from": date(2020, 1, 1), "date_to": date.today()}
            )
            pdf, kind = (
                env["ir.actions.report"]
                .with_context(force_report_rendering=True)
                ._render_qweb_pdf("canteen_report.action_report_canteen_summary", wizard.ids)
            )
        finally:
            root.cr.rollback()  # the language and the wizard stay out of the shared test database
    assert kind == "pdf" and pdf.startswith(b"%PDF")
    pdf_path = tmp_path / "daily.pdf"
    pdf_path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    # The CJK font maps some ideographs to their Kangxi radical forms (⽇ for 日): fold them back.
    text = unicodedata.normalize("NFKC", text)
    for label in ("每日消费汇总表", "早餐", "午餐", "合计", "汇总", "制单", "审核", "批准", "打印日期"):
        assert label in text, f"{label} missing from the PDF text"
    assert company in text, "the company header"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf_path), str(tmp_path / "page")],
        check=True,
    )
    png = next(tmp_path.glob("page*.png"))
    if (ROOT / ".local").is_dir():
        shutil.copy(png, ROOT / ".local" / "report_daily_meal.png")  # to look at
    from PIL import Image

    with Image.open(png) as image:
        width, height = image.size
        assert width > height, "A4 landscape"
        grey = image.convert("L")
        dark = sum(1 for value in grey.getdata() if value < 128)
    assert dark > 0.001 * width * height, "the page is blank"
