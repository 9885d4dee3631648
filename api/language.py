"""The language of a request's answer: :func:`homeloop.i18n.choose` on what the request says.

``?lang=zh-CN`` or ``?lang=en`` is a screen's own language switch (the designer sends the
language its reader chose on every call); a signed-in customer's locale is put on
``request.state`` by the customer's authentication (:mod:`api.auth`); the ``Accept-Language``
header comes with the request. Routes that write text take :data:`LangDep` after their
customer parameter (which documents ``lang`` for them); the problem handlers call
:func:`request_lang` themselves, so every problem follows the same rule.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from homeloop import i18n


def request_lang(request: Request) -> i18n.Lang:
    return i18n.choose(getattr(request.state, "customer_locale", None),
                       request.headers.get("accept-language"), request.query_params.get("lang"))


def _lang(request: Request, lang: Annotated[str | None, Query(
        max_length=35, description="The language to write in (zh-CN or en), chosen on this "
                                   "screen; without it the customer's locale, else "
                                   "Accept-Language, else zh-CN")] = None) -> i18n.Lang:
    return request_lang(request)


LangDep = Annotated[i18n.Lang, Depends(_lang)]
