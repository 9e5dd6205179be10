"""Risk monitoring (风险研判) and pushes: watchlists, rules, alerts, webhooks, subscriptions (SPEC M6)."""
