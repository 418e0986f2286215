"""App settings shared by the fixtures: tests register and sign in many accounts from one address."""

GENEROUS_RATE_LIMITS = {
    "RATELIMIT_LOGIN_PER_IP": "10000 per minute",
    "RATELIMIT_LOGIN_FAILURES_PER_ACCOUNT": "10000 per minute",
    "RATELIMIT_REGISTER_PER_IP": "10000 per minute",
    "RATELIMIT_EVENTS_PER_USER": "10000 per minute",
    "RATELIMIT_FEEDS_PER_IP": "10000 per minute",
}
