"""The language of a request's answer: :func:`homeloop.i18n.choose` on what the request says.

A signed-in customer's locale is put on ``request.state`` by the customer's authentication
(:mod:`api.auth`); the header comes with the request. Routes that write text take
:data:`LangDep` after their customer parameter, and the problem handlers call
:func:`request_lang` themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from homeloop import i18n


def request_lang(request: Request) -> i18n.Lang:
    return i18n.choose(getattr(request.state, "customer_locale", None),
                       request.headers.get("accept-language"))


LangDep = Annotated[i18n.Lang, Depends(request_lang)]
