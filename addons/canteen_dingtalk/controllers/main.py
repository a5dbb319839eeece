import json
import logging

from odoo import http
from odoo.http import request

from ..tools.crypto import CallbackError

_logger = logging.getLogger(__name__)


class DingtalkCallback(http.Controller):
    @http.route(
        "/canteen/dingtalk/callback/<int:company_id>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def callback(self, company_id, **params):
        """DingTalk's event subscription: checked, decrypted and applied by the sync model."""
        try:
            body = json.loads(request.httprequest.get_data() or b"{}")
        except ValueError:
            body = {}
        try:
            reply = (
                request.env["canteen.dingtalk.sync.run"]
                .sudo()
                ._handle_callback(
                    company_id,
                    params.get("msg_signature") or params.get("signature"),
                    params.get("timestamp"),
                    params.get("nonce"),
                    body.get("encrypt") if isinstance(body, dict) else None,
                )
            )
        except CallbackError as error:
            _logger.warning("DingTalk callback for company %s refused: %s", company_id, error)
            return request.make_json_response({"error": "refused"}, status=403)
        return request.make_json_response(reply)
