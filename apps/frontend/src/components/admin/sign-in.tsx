// Signing this browser in with the admin token. The token goes once to POST
// /api/admin/session, which answers with an HttpOnly cookie; it is never stored here.
// /admin/login#token=… (the start-up banner's link) signs in with one click: the fragment
// never reaches a server log, and it is wiped from the address bar before anything else.
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../../api/client.ts';
import { useSignIn } from '../../hooks/useQuickBooks.ts';

export function SignInForm({ onSignedIn }: { onSignedIn?: () => void }) {
  const signIn = useSignIn();
  const [token, setToken] = useState('');
  const error = signIn.error;
  return (
    <form
      className="sign-in"
      aria-labelledby="sign-in-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!token.trim()) return;
        signIn.mutate(token.trim(), {
          onSuccess: () => {
            setToken('');
            onSignedIn?.();
          },
        });
      }}
    >
      <h2 id="sign-in-title">Sign in</h2>
      <p className="muted">
        Paste the admin token. On a local <code>npm start</code> the sign-in link printed at
        start-up does this for you; the token is <code>adminApiToken</code> in{' '}
        <code>apps/api/.data/local-secrets.json</code> (under <code>DATA_DIR</code> when set), or
        the <code>ADMIN_API_TOKEN</code> you set.
      </p>
      <label htmlFor="admin-token">Admin token</label>
      <input
        id="admin-token"
        name="token"
        type="password"
        autoComplete="off"
        spellCheck={false}
        value={token}
        onChange={(e) => setToken(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? 'sign-in-error' : undefined}
      />
      {error && (
        <p id="sign-in-error" className="field-error" role="alert">
          {error instanceof ApiError && error.code === 'invalid_admin_token'
            ? 'That is not this service’s admin token.'
            : error instanceof ApiError
              ? error.message
              : 'Signing in failed.'}
        </p>
      )}
      <button type="submit" className="btn btn-primary" disabled={signIn.isPending || !token}>
        {signIn.isPending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

/** /admin/login: takes #token=… from the link, else shows the form. */
export function LoginPage({ goTo = (url: string) => window.location.replace(url) }) {
  const signIn = useSignIn();
  const started = useRef(false);
  const [fromLink, setFromLink] = useState(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const token = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (!token) return;
    // Out of the address bar and the history entry before the request is even sent.
    window.history.replaceState(null, '', window.location.pathname);
    setFromLink(true);
    signIn.mutate(token, { onSuccess: () => goTo('/admin') });
  }, [signIn, goTo]);

  if (fromLink && !signIn.isError) {
    return (
      <main className="page narrow">
        <p role="status">Signing in…</p>
      </main>
    );
  }
  return (
    <main className="page narrow">
      {fromLink && signIn.isError && (
        <p className="error-note" role="alert">
          The sign-in link did not work: its token is not this service’s admin token (it changes
          when the data folder is reset). Use the link from the latest start-up, or paste the token.
        </p>
      )}
      <SignInForm onSignedIn={() => goTo('/admin')} />
    </main>
  );
}
