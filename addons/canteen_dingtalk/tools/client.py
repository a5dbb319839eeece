"""A small client of DingTalk's open API (no Odoo import: the tests and the benchmark use it too).

- Access token of an internal app: ``POST {api_base}/v1.0/oauth2/accessToken`` with
  ``{"appKey", "appSecret"}``, answering ``{"accessToken", "expireIn"}``. Tokens are cached in
  the process until five minutes before they expire and renewed at once when DingTalk says a
  token is invalid or expired (errcode 40014, 42001, 40001, or HTTP 401).
- Every ``topapi`` call is ``POST {oapi_base}/topapi/...?access_token=...`` with a JSON body,
  answering ``{"errcode": 0, "errmsg": "ok", "result": ...}``.
- Rate limiting (errcode 88, 90002, 90005, 90006, 90018, 41047, 41048, 143103, 143104 or HTTP 429) and
  connection failures are retried with exponential back-off before giving up.
"""

import threading
import time

import requests

# 143103 and 143104: too many people messaged per minute (per app, per organisation).
RATE_LIMITED = {88, 90002, 90005, 90006, 90018, 41047, 41048, 143103, 143104}
TOKEN_INVALID = {40001, 40014, 42001}
TOKEN_MARGIN = 300  # seconds before expiry at which a cached token is renewed

_TOKENS = {}
_TOKENS_LOCK = threading.Lock()


class DingTalkError(Exception):
    def __init__(self, message, code=None, retryable=False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


def clear_token_cache():
    with _TOKENS_LOCK:
        _TOKENS.clear()


class DingTalkClient:
    def __init__(
        self,
        api_base,
        oapi_base,
        app_key,
        app_secret,
        *,
        timeout=10,
        max_retries=5,
        backoff=1.0,
        max_backoff=30.0,
        sleep=time.sleep,
        pool_size=None,
    ):
        self.api_base = api_base.rstrip("/")
        self.oapi_base = oapi_base.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.session = requests.Session()
        if pool_size:
            # Several threads send at once (messages): one kept-alive connection each.
            adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        self.calls = 0
        self.waits = 0

    # token ---------------------------------------------------------------------------------
    @property
    def _cache_key(self):
        return (self.api_base, self.app_key, self.app_secret)

    def token(self, renew=False):
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._cache_key)
        if cached and not renew and cached[1] > time.time() + TOKEN_MARGIN:
            return cached[0]
        answer = self._with_retries(
            lambda: self._post(
                f"{self.api_base}/v1.0/oauth2/accessToken",
                {"appKey": self.app_key, "appSecret": self.app_secret},
            )
        )
        token = answer.get("accessToken")
        if not token:
            raise DingTalkError(f"no access token: {answer}", code=answer.get("code"))
        with _TOKENS_LOCK:
            _TOKENS[self._cache_key] = (token, time.time() + int(answer.get("expireIn") or 7200))
        return token

    # transport -----------------------------------------------------------------------------
    def _post(self, url, body, params=None):
        self.calls += 1
        try:
            response = self.session.post(url, json=body, params=params, timeout=self.timeout)
        except requests.RequestException as error:
            raise DingTalkError(f"DingTalk unreachable: {error}", retryable=True) from error
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 429:
            raise DingTalkError("HTTP 429: too many calls", code=429, retryable=True)
        if response.status_code == 401:
            raise DingTalkError("HTTP 401: token invalid", code=40014)
        if response.status_code >= 500:
            raise DingTalkError(f"HTTP {response.status_code}", code=response.status_code, retryable=True)
        if response.status_code >= 400:
            raise DingTalkError(
                f"HTTP {response.status_code}: {answer.get('message') or answer}",
                code=answer.get("code") or response.status_code,
            )
        errcode = answer.get("errcode", 0)
        if errcode:
            raise DingTalkError(
                f"errcode {errcode}: {answer.get('errmsg')}", code=errcode, retryable=errcode in RATE_LIMITED
            )
        return answer

    def _with_retries(self, call):
        attempt = 0
        while True:
            try:
                return call()
            except DingTalkError as error:
                if not error.retryable or attempt >= self.max_retries:
                    raise
                self.waits += 1
                self.sleep(min(self.backoff * 2**attempt, self.max_backoff))
                attempt += 1

    def call(self, path, body):
        """POST a topapi call with the access token; renews the token once if refused."""

        def attempt():
            try:
                return self._post(f"{self.oapi_base}/{path}", body, {"access_token": self.token()})
            except DingTalkError as error:
                if error.code not in TOKEN_INVALID:
                    raise
            return self._post(f"{self.oapi_base}/{path}", body, {"access_token": self.token(renew=True)})

        return self._with_retries(attempt)

    # address book --------------------------------------------------------------------------
    def get_department(self, dept_id, language="zh_CN"):
        result = self.call("topapi/v2/department/get", {"dept_id": dept_id, "language": language})["result"]
        return {"dept_id": result["dept_id"], "name": result["name"], "parent_id": result.get("parent_id")}

    def list_subdepartments(self, dept_id, language="zh_CN"):
        answer = self.call("topapi/v2/department/listsub", {"dept_id": dept_id, "language": language})
        return answer.get("result") or []

    def department_tree(self, root_id=1, language="zh_CN"):
        """Every department from the root, parents before children."""
        root = self.get_department(root_id, language)
        root["parent_id"] = None
        departments, queue = [root], [root_id]
        while queue:
            children = self.list_subdepartments(queue.pop(0), language)
            departments.extend(children)
            queue.extend(child["dept_id"] for child in children)
        return departments

    def department_users(self, dept_id, size=100, language="zh_CN"):
        """The users of one department, page after page (has_more, next_cursor)."""
        cursor = 0
        while True:
            answer = self.call(
                "topapi/v2/user/list",
                {"dept_id": dept_id, "cursor": cursor, "size": size, "language": language},
            )
            result = answer.get("result") or {}
            yield from result.get("list") or []
            if not result.get("has_more"):
                return
            cursor = result["next_cursor"]

    def get_user(self, userid, language="zh_CN"):
        return self.call("topapi/v2/user/get", {"userid": userid, "language": language})["result"]

    # messages ------------------------------------------------------------------------------
    def send_text(self, agent_id, userids, content):
        """A work notification (工作通知); returns DingTalk's task id."""
        answer = self.call(
            "topapi/message/corpconversation/asyncsend_v2",
            {
                "agent_id": int(agent_id),
                "userid_list": ",".join(userids),
                "msg": {"msgtype": "text", "text": {"content": content}},
            },
        )
        return answer.get("task_id")
