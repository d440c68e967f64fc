# auth.py — users, sessions, API keys and login throttling.
#
# Owns: who may log in (metabase-api.md §1), the session store (absolute
# expiry --session-max-age seconds after login), API keys (new behaviour
# only), the exact login answers (200 / 400 / 401 bodies) and the
# throttle.core rules of §1.6 (10 failures per username, 50 per IP in an
# hour; rejections count as attempts; successes neither count nor reset).

import collections
import threading
import time
import uuid

class User:
    def __init__(self, uid, email, first, last, password, is_superuser, personal_collection_id,
                 group_ids, date_joined):
        self.id = uid
        self.email = email
        self.first_name = first
        self.last_name = last
        self.password = password
        self.is_superuser = is_superuser
        self.personal_collection_id = personal_collection_id
        self.group_ids = group_ids
        self.date_joined = date_joined
        self.last_login = None
        self.is_active = True

    @property
    def common_name(self):
        return "%s %s" % (self.first_name, self.last_name)

    def summary(self):
        """The `creator` shape hydrated on cards and dashboards."""
        return {"email": self.email, "first_name": self.first_name, "last_login": self.last_login,
                "is_qbnewb": False, "is_superuser": self.is_superuser, "id": self.id,
                "last_name": self.last_name, "date_joined": self.date_joined,
                "common_name": self.common_name}

    def edit_info(self, timestamp):
        return {"id": self.id, "email": self.email, "first_name": self.first_name,
                "last_name": self.last_name, "timestamp": timestamp}

    def full(self):
        """GET /api/user/current and GET /api/user elements."""
        return {
            "id": self.id, "email": self.email, "first_name": self.first_name,
            "last_name": self.last_name, "common_name": self.common_name,
            "date_joined": self.date_joined, "last_login": self.last_login,
            "first_login": self.date_joined,
            "is_superuser": self.is_superuser, "is_qbnewb": False, "is_active": self.is_active,
            "sso_source": None, "updated_at": self.date_joined, "login_attributes": None,
            "locale": None, "group_ids": list(self.group_ids),
            "personal_collection_id": self.personal_collection_id,
            "is_installer": self.id == 1, "has_invited_second_user": True,
            "has_question_and_dashboard": True, "custom_homepage": None,
        }


def default_users():
    return [
        User(1, "admin@example.com", "Bobby", "Tables", "mbfs-demo-pass", True, 1, [1, 2],
             "2025-01-06T09:00:00.118273"),
        User(2, "analyst@example.com", "Ada", "Analyst", "analyst-pass", False, 2, [1, 3],
             "2025-01-07T10:30:12.5"),
    ]


DEMO_API_KEY = "mb_demo_api_key_0123456789abcdef"

THROTTLE_TTL = 3600.0
THROTTLE_INITIAL_DELAY = 15.0
THROTTLE_EXPONENT = 1.5
USERNAME_THRESHOLD = 10
IP_THRESHOLD = 50


class Throttler:
    """metabase/throttle 1.0.x `with-throttling` semantics for one key space."""

    def __init__(self, threshold, clock):
        self.threshold = threshold
        self.clock = clock
        self.attempts = collections.defaultdict(list)

    def _prune(self, key):
        now = self.clock()
        lst = [t for t in self.attempts.get(key, []) if now - t < THROTTLE_TTL]
        if lst:
            self.attempts[key] = lst
        else:
            self.attempts.pop(key, None)
        return lst

    def check(self, key):
        """None when allowed, else the rejection message (the rejection is recorded)."""
        lst = self._prune(key)
        if len(lst) < self.threshold:
            return None
        now = self.clock()
        k = len(lst) + 1 - self.threshold
        delay = THROTTLE_INITIAL_DELAY * (k ** THROTTLE_EXPONENT)
        remaining = lst[-1] + delay - now
        self.attempts[key].append(now)
        if remaining > 0:
            return "Too many attempts! You must wait %d seconds before trying again." % int(round(remaining))
        return "Too many attempts! Please try again later."

    def record(self, key):
        self.attempts[key].append(self.clock())

    def clear(self):
        self.attempts.clear()


class Session:
    def __init__(self, token, user_id, created):
        self.token = token
        self.user_id = user_id
        self.created = created


class Auth:
    def __init__(self, users, session_max_age, api_keys_enabled, throttle_enabled=True, clock=time.time):
        self.users = {u.id: u for u in users}
        self.by_email = {u.email.lower(): u for u in users}
        self.session_max_age = session_max_age
        self.api_keys_enabled = api_keys_enabled
        self.throttle_enabled = throttle_enabled
        self.clock = clock
        self.lock = threading.Lock()
        self.sessions = {}
        self.api_keys = {DEMO_API_KEY: 1} if api_keys_enabled else {}
        self.user_throttle = Throttler(USERNAME_THRESHOLD, clock)
        self.ip_throttle = Throttler(IP_THRESHOLD, clock)

    # -- login / logout -------------------------------------------------------
    def login(self, body, ip):
        """Returns (status, json_body, session_token_or_None, outcome) for POST /api/session.

        outcome is "ok", "invalid" (400), "failed" (401 bad credentials) or "throttled".
        """
        username = body.get("username") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(username, str) or not username.strip():
            return 400, {"errors": {"username": "value must be a non-blank string."}}, None, "invalid"
        if not isinstance(password, str) or not password.strip():
            return 400, {"errors": {"password": "value must be a non-blank string."}}, None, "invalid"
        with self.lock:
            if self.throttle_enabled:
                # with-throttling [ip-throttler ip, username-throttler username]: IP checked first
                msg = self.ip_throttle.check(ip)
                if msg is None:
                    msg = self.user_throttle.check(username)
                    if msg is not None:
                        self.ip_throttle.record(ip)  # the rejection is a failure seen by the outer throttler
                if msg is not None:
                    return 401, {"errors": {"username": msg}}, None, "throttled"
            user = self.by_email.get(username.lower())
            if user is None or not user.is_active or user.password != password:
                if self.throttle_enabled:
                    self.user_throttle.record(username)
                    self.ip_throttle.record(ip)
                if user is not None and not user.is_active and user.password == password:
                    return 401, {"errors": {"_error": "Your account is disabled."}}, None, "failed"
                return 401, {"errors": {"password": "did not match stored password"}}, None, "failed"
            token = str(uuid.uuid4())
            self.sessions[token] = Session(token, user.id, self.clock())
            user.last_login = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            return 200, {"id": token}, token, "ok"

    def logout(self, token):
        with self.lock:
            return self.sessions.pop(token, None) is not None

    # -- resolving credentials --------------------------------------------------
    def _valid_session(self, token):
        s = self.sessions.get(token)
        if s is None:
            return None
        if self.clock() - s.created >= self.session_max_age:
            del self.sessions[token]
            return None
        u = self.users.get(s.user_id)
        return u if u is not None and u.is_active else None

    def authenticate(self, session_token, api_key):
        """(user, how) from a session token and/or API key; (None, None) when unauthenticated."""
        with self.lock:
            if session_token:
                u = self._valid_session(session_token)
                if u is not None:
                    return u, "session"
            if api_key and self.api_keys_enabled:
                uid = self.api_keys.get(api_key)
                if uid is not None and uid in self.users:
                    return self.users[uid], "api-key"
        return None, None

    # -- side channel -------------------------------------------------------------
    def expire_all(self):
        with self.lock:
            n = len(self.sessions)
            self.sessions.clear()
            return n

    def active_sessions(self):
        with self.lock:
            now = self.clock()
            return sum(1 for s in self.sessions.values() if now - s.created < self.session_max_age)

    def add_api_key(self, key, user_id):
        with self.lock:
            self.api_keys[key] = user_id

    def revoke_api_key(self, key):
        with self.lock:
            return self.api_keys.pop(key, None) is not None

    def set_password(self, email, password):
        with self.lock:
            u = self.by_email.get(email.lower())
            if u is None:
                return False
            u.password = password
            return True

    def reset_throttle(self):
        with self.lock:
            self.user_throttle.clear()
            self.ip_throttle.clear()
