// The page's few building blocks: a titled panel (optionally expandable), the loading, empty
// and error states every panel uses, and a two-step confirmation for destructive buttons.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../../api/client.ts';

export function Panel(props: {
  title: string;
  /** A one-line summary beside the title (shown collapsed too). */
  summary?: ReactNode;
  actions?: ReactNode;
  /** Expandable panels start closed and render their body only when open. */
  expandable?: boolean;
  defaultOpen?: boolean;
  /** Controlled open state (e.g. an alert opens the request log). */
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  children: ReactNode;
  testId?: string;
}) {
  const [ownOpen, setOwnOpen] = useState(props.defaultOpen ?? !props.expandable);
  const open = props.open ?? ownOpen;
  const setOpen = (next: boolean) => {
    setOwnOpen(next);
    props.onOpenChange?.(next);
  };
  const bodyId = useId();
  const headingId = useId();
  return (
    <section className="panel" aria-labelledby={headingId} data-testid={props.testId}>
      <header className="panel-head">
        {props.expandable ? (
          <h2 id={headingId}>
            <button
              type="button"
              className="disclosure"
              aria-expanded={open}
              aria-controls={bodyId}
              onClick={() => setOpen(!open)}
            >
              <span className="chevron" aria-hidden="true">
                {open ? '▾' : '▸'}
              </span>
              {props.title}
            </button>
          </h2>
        ) : (
          <h2 id={headingId}>{props.title}</h2>
        )}
        {props.summary !== undefined && <div className="panel-summary">{props.summary}</div>}
        {props.actions && open && <div className="panel-actions">{props.actions}</div>}
      </header>
      {open && (
        <div className="panel-body" id={bodyId}>
          {props.children}
        </div>
      )}
    </section>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** An error from the API, in words, with a retry when one makes sense. */
export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message =
    error instanceof ApiError ? error.message : 'Something went wrong while loading this.';
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div className="error-note" role="alert">
      <p>
        {message}
        {code && <span className="code"> ({code})</span>}
      </p>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/**
 * The inline confirmation of a destructive action: what will happen, Cancel and the action.
 * Focus moves to "Cancel" when it opens, so Enter by reflex does not confirm.
 */
export function ConfirmDialog(props: {
  question: string;
  consequence: ReactNode;
  confirmLabel: string;
  busy?: boolean | undefined;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  useEffect(() => {
    cancelRef.current?.focus();
  }, []);
  return (
    <div className="confirm" role="alertdialog" aria-labelledby={titleId}>
      <p id={titleId}>
        <strong>{props.question}</strong>
      </p>
      <p className="muted">{props.consequence}</p>
      <div className="row">
        <button ref={cancelRef} type="button" className="btn" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className="btn btn-danger"
          disabled={props.busy}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
      </div>
    </div>
  );
}

/** Whether a confirmation is open; when it closes, focus goes back to the button that opened it. */
export function useAsking() {
  const [asking, setAsking] = useState(false);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    if (wasAsking.current && !asking) triggerRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  return { asking, setAsking, triggerRef };
}

/** A destructive action in two steps: the button opens a `ConfirmDialog` in its place. */
export function ConfirmButton(props: {
  label: string;
  question: string;
  consequence: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
}) {
  const { asking, setAsking, triggerRef } = useAsking();
  if (!asking) {
    return (
      <button
        ref={triggerRef}
        type="button"
        className="btn btn-danger-quiet"
        disabled={props.busy}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <ConfirmDialog
      question={props.question}
      consequence={props.consequence}
      confirmLabel={props.confirmLabel}
      busy={props.busy}
      onCancel={() => setAsking(false)}
      onConfirm={() => {
        props.onConfirm();
        setAsking(false);
      }}
    />
  );
}

export function Badge({
  tone,
  children,
}: {
  tone: 'ok' | 'warn' | 'bad' | 'neutral';
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/**
 * A list read page by page, newest first (an infinite query): loading, error and empty
 * states, the table, and "Load older" while older pages remain.
 */
export function PagedTable<T>(props: {
  query: {
    isPending: boolean;
    isError: boolean;
    isSuccess: boolean;
    error: unknown;
    refetch: () => unknown;
    hasNextPage: boolean;
    isFetchingNextPage: boolean;
    fetchNextPage: () => unknown;
  };
  rows: readonly T[];
  empty: ReactNode;
  /** The header row's cells. */
  head: ReactNode;
  row: (item: T) => ReactNode;
}) {
  const { query: q, rows } = props;
  return (
    <>
      {q.isPending && <Loading />}
      {q.isError && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isSuccess && rows.length === 0 && <Empty>{props.empty}</Empty>}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>{props.head}</tr>
            </thead>
            <tbody>{rows.map(props.row)}</tbody>
          </table>
        </div>
      )}
      {q.hasNextPage && (
        <button
          type="button"
          className="btn"
          disabled={q.isFetchingNextPage}
          onClick={() => void q.fetchNextPage()}
        >
          {q.isFetchingNextPage ? 'Loading…' : 'Load older'}
        </button>
      )}
    </>
  );
}
