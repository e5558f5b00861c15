// Problems with the experiment given in the URL: each invalid or unknown parameter is named, and
// the lab runs with the defaults in its place.
export function UrlNotice({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <div className="banner banner-warning" role="status" data-testid="url-warnings">
      <strong>Some settings in the link were not used:</strong>
      <ul>
        {warnings.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}
