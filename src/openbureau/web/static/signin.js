// Sign in: POST /auth/login, keep the token for this tab only (sessionStorage), go to /me.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signin-form");
  if (new URLSearchParams(location.search).has("expired")) {
    OB.say("signin-status", "Your session ended: sign in again.", "error");
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const login = form.login.value.trim();
    const password = form.password.value;
    if (!login || !password) {
      OB.say("signin-status", "Enter your login and password.", "error");
      return;
    }
    OB.say("signin-status", "Signing in…");
    try {
      const out = await OB.api("POST", "/auth/login", { body: { login, password } });
      OB.token.set(out.token);
      location.assign("/me");
    } catch (e) {
      OB.say("signin-status", e.message, "error");
      form.password.focus();
    }
  });
});
