// Render errors never leave a blank page: the boundary shows the message and a way out.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** What the boundary wraps, for the message ("the self-test panel"). */
  what: string;
  children: ReactNode;
}

export class ErrorBoundary extends Component<Props, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`Error in ${this.props.what}:`, error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="banner banner-error" role="alert">
        <strong>Something broke in {this.props.what}.</strong>
        <p className="mono">{error.message || String(error)}</p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>{' '}
        <button type="button" onClick={() => location.reload()}>
          Reload the page
        </button>
      </div>
    );
  }
}
