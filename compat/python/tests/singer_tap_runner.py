"""Runs the Singer tap ``tap-salesforce`` against a forcebus server.

Executed by the tap's own venv (not imported by pytest). The tap's command line
is passed through unchanged; the only change is where the OAuth refresh-token
request goes: the tap posts it to ``https://login.salesforce.com`` (or
``test.salesforce.com`` with ``is_sandbox``) and has no setting for another
host, so the ``requests.Session`` it makes in ``Salesforce.__init__`` is
replaced by one that sends those two hosts to ``FORCEBUS_TAP_BASE`` and trusts
``FORCEBUS_TAP_CA``. Every later request goes to the ``instance_url`` the token
answer names, as the tap does against Salesforce.
"""

from __future__ import annotations

import os

import requests
import tap_salesforce
from tap_salesforce.salesforce import Salesforce

BASE = os.environ["FORCEBUS_TAP_BASE"]
CA = os.environ["FORCEBUS_TAP_CA"]
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")


class ToForcebus(requests.Session):
    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        for host in LOGIN_HOSTS:
            if url.startswith(host):
                url = BASE + url[len(host):]
                break
        return super().request(method, url, *args, **kwargs)


_original_init = Salesforce.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.session = ToForcebus()
    self.session.verify = CA
    self.session.trust_env = False


Salesforce.__init__ = _init

if __name__ == "__main__":
    tap_salesforce.main()
