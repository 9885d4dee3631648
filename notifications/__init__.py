"""Push notifications: the customers' push tokens and the FCM boundary (firebase-admin).

What is pushed and when is the caller's business (the offers' outbox in
:mod:`replenishment.outbox`); this package knows tokens and how to reach FCM.
"""
