"""The signed-in customer's offers and their consent to them."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from api import schemas
from api.auth import CurrentCustomer
from api.deps import ConnDep, SettingsDep
from customers import consents
from customers import store as customers
from homeloop import clock
from identity.access import needs
from notifications import tokens
from replenishment import offers, order_requests, outbox

router = APIRouter(prefix="/v1/me", tags=["offers"])


def _offer(view: offers.OfferView) -> schemas.Offer:
    o = view.offer
    return schemas.Offer.model_validate({**asdict(o), "product_id": o.instance_id,
                                         "reason": view.reason})


@router.get("/offers", response_model=list[schemas.Offer])
@needs("customer")
def my_offers(customer: CurrentCustomer, conn: ConnDep) -> list[schemas.Offer]:
    """The customer's offers, newest first, each with its reason in their language.

    Offers the no-spam rules suppressed are never shown; deferred ones are (they are only
    held back from being pushed during quiet hours).
    """
    locale = customers.locale_of(conn, customer)
    return [_offer(v) for v in offers.my_offers(conn, customer, locale)]


@router.post("/offers/{offer_id}/dismiss", response_model=schemas.Offer,
             responses={404: {"description": "No such offer, or not yours"},
                        409: {"description": "Already accepted or expired"}})
@needs("customer", of="customer")
def dismiss_offer(offer_id: int, customer: CurrentCustomer, conn: ConnDep) -> schemas.Offer:
    """Dismiss an offer; it is not offered again for this consumable's cycle."""
    locale = customers.locale_of(conn, customer)
    return _offer(offers.dismiss(conn, customer, offer_id, clock.now(), locale))


@router.post("/offers/{offer_id}/snooze", response_model=schemas.Offer,
             responses={404: {"description": "No such offer, or not yours"},
                        409: {"description": "Already accepted, dismissed, bought or expired"}})
@needs("customer", of="customer")
def snooze_offer(offer_id: int, customer: CurrentCustomer, conn: ConnDep) -> schemas.Offer:
    """"I still have some": the offer stays in the list and can still be accepted, but is not
    pushed again; this household's next offers for these items come later. Again: no change.
    """
    locale = customers.locale_of(conn, customer)
    return _offer(offers.snooze(conn, customer, offer_id, clock.now(), locale))


@router.post("/offers/{offer_id}/already-bought", response_model=schemas.Offer,
             responses={404: {"description": "No such offer, or not yours"},
                        409: {"description": "Already accepted, dismissed or expired"}})
@needs("customer", of="customer")
def already_bought_offer(offer_id: int, customer: CurrentCustomer,
                         conn: ConnDep) -> schemas.Offer:
    """"Already bought" (elsewhere, or had one): the offer closes, and this household's next
    offers for these items come earlier. Again: no change."""
    locale = customers.locale_of(conn, customer)
    return _offer(offers.already_bought(conn, customer, offer_id, clock.now(), locale))


@router.post("/offers/{offer_id}/open", response_model=schemas.Offer,
             responses={404: {"description": "No such offer, or not yours"},
                        409: {"description": "Already dismissed or expired"}})
@needs("customer", of="customer")
def open_offer(offer_id: int, customer: CurrentCustomer, conn: ConnDep) -> schemas.Offer:
    """The customer tapped the offer's notification; opening it again changes nothing."""
    locale = customers.locale_of(conn, customer)
    return _offer(offers.open_offer(conn, customer, offer_id, clock.now(), locale))


@router.post("/offers/{offer_id}/accept", response_model=schemas.AcceptedOffer,
             responses={404: {"description": "No such offer, or not yours"},
                        409: {"description": "Dismissed or expired, or the chosen store does "
                                             "not have every item now"}})
@needs("customer", of="customer")
def accept_offer(offer_id: int, body: schemas.AcceptOffer, customer: CurrentCustomer,
                 conn: ConnDep, settings: SettingsDep) -> schemas.AcceptedOffer:
    """Get it: pickup at a store that has every item, delivery, or the technician's visit.

    It places an order the customer follows at ``/v1/me/orders`` (stock kept aside at that
    store; a points offer paid with points), and the order request goes to the retailer's
    order system within half a minute; accepting again returns the same request."""
    request = order_requests.accept(conn, settings, customer, offer_id,
                                    order_requests.Choice(body.fulfilment, body.store_id),
                                    clock.now())
    locale = customers.locale_of(conn, customer)
    view = next(v for v in offers.my_offers(conn, customer, locale) if v.offer.id == offer_id)
    return schemas.AcceptedOffer(offer=_offer(view),
                                 order_request=schemas.OrderRequest(**asdict(request)))


@router.get("/order-requests", response_model=list[schemas.OrderRequest])
@needs("customer")
def my_order_requests(customer: CurrentCustomer, conn: ConnDep) -> list[schemas.OrderRequest]:
    """The customer's accepted offers and where their orders stand, newest first."""
    return [schemas.OrderRequest(**asdict(r))
            for r in order_requests.requests_of(conn, customer)]


@router.post("/push-tokens", response_model=schemas.PushToken)
@needs("customer")
def register_push_token(body: schemas.PushTokenRequest, customer: CurrentCustomer,
                        conn: ConnDep) -> schemas.PushToken:
    """Register this install's FCM token for offers; registering it again only refreshes it.

    A token moves to the customer who registers it last (the install's signed-in account).
    Pushes that waited for a token are queued again.
    """
    found = outbox.register_push_token(conn, customer, body.token, body.platform,
                                       clock.now())
    return schemas.PushToken.model_validate(asdict(found))


@router.delete("/push-tokens/{token}", status_code=204,
               responses={404: {"description": "Not registered, or not yours"}})
@needs("customer", of="customer")
def delete_push_token(token: str, customer: CurrentCustomer, conn: ConnDep) -> Response:
    """Stop pushing to this install (signing out)."""
    tokens.unregister(conn, customer, token)
    return Response(status_code=204)


@router.get("/consents", response_model=schemas.Consents)
@needs("customer")
def my_consents(customer: CurrentCustomer, conn: ConnDep) -> schemas.Consents:
    """Which kinds of offer the customer receives by push, and whether they opted out."""
    return schemas.Consents.model_validate(asdict(consents.get_consents(conn, customer)))


@router.put("/consents", response_model=schemas.Consents)
@needs("customer")
def set_my_consents(body: schemas.ConsentUpdate, customer: CurrentCustomer,
                    conn: ConnDep) -> schemas.Consents:
    """Say yes or no to kinds of offer (marketing kinds need a yes), or opt out of all."""
    found = consents.set_consents(conn, customer, {str(k): v for k, v in body.kinds.items()},
                                  channel=body.channel,
                                  opted_out=body.opted_out)
    return schemas.Consents.model_validate(asdict(found))
