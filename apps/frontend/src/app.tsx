// The page frame: header (product, sign out, API reference) and the route's content.
import { useState } from 'react';
import { takeCallbackResult } from './components/admin/callback-notice.tsx';
import { QuickBooksStatusCard } from './components/admin/quickbooks-status-card.tsx';
import { LoginPage } from './components/admin/sign-in.tsx';
import { apiUrl } from './api/client.ts';
import { useSignOut } from './hooks/useQuickBooks.ts';

function Header() {
  const signOut = useSignOut();
  return (
    <header className="topbar">
      <div className="brand">
        <span className="logo" aria-hidden="true">
          qb
        </span>
        <span>
          <strong>QuickBooks</strong> <span className="muted">· qbo-sync admin</span>
        </span>
      </div>
      <nav className="topnav" aria-label="Admin">
        <a href={apiUrl('/api/docs')}>API reference</a>
        <button type="button" className="linklike" onClick={() => signOut.mutate()}>
          Sign out
        </button>
      </nav>
    </header>
  );
}

export function App() {
  // Read once: the callback's parameters leave the address bar as soon as they are read.
  const [callback] = useState(() =>
    window.location.pathname === '/admin/login' ? null : takeCallbackResult(),
  );
  if (window.location.pathname === '/admin/login') return <LoginPage />;
  return (
    <>
      <Header />
      <main className="page">
        <QuickBooksStatusCard
          callback={callback}
          initialRealm={callback?.kind === 'connected' ? callback.realmId : null}
        />
      </main>
    </>
  );
}
