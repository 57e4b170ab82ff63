// The SPA's use of the API, typed only by the client that openapi-typescript generates from
// /api/openapi.json (./schema.d.ts). tests/test_generated_clients.py type-checks it with
// `tsc --strict`: a spec that loses a required field, a nullable reference, an error body or
// a header breaks the build here.
import type { components, paths } from "./schema";

type Ticket = components["schemas"]["Ticket"];
type LoginBody = paths["/api/auth/login"]["post"]["requestBody"]["content"]["application/json"];
type Tokens = paths["/api/auth/login"]["post"]["responses"][200]["content"]["application/json"];
type ListQuery = NonNullable<paths["/api/tickets"]["get"]["parameters"]["query"]>;
type TicketPage = paths["/api/tickets"]["get"]["responses"][200]["content"]["application/json"];
type Item = paths["/api/tickets/{ticket_id}"]["patch"];
type UpdateBody = Item["requestBody"]["content"]["application/json"];
type UpdateHeaders = NonNullable<Item["parameters"]["header"]>;
type Conflict = Item["responses"][409]["content"]["application/problem+json"];
type Precondition = Item["responses"][412]["content"]["application/problem+json"];

export async function login(email: string, password: string): Promise<string> {
  const body: LoginBody = { email, password };
  const response = await fetch("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const tokens: Tokens = await response.json();
  const greeting: string = `Hello ${tokens.user.name} (${tokens.user.role})`;
  console.log(greeting);
  return tokens.access_token;
}

export async function myOpenHighTickets(token: string): Promise<Ticket[]> {
  const query: ListQuery = { status: ["open", "in_progress"], priority: ["high"], sort: "-created_at", per_page: 50 };
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    search.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const response = await fetch(`/api/tickets?${search}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const page: TicketPage = await response.json();
  const total: number | null | undefined = page.total;
  console.log(`${page.items.length} of ${total ?? "many"}`);
  return page.items;
}

export function assigneeName(ticket: Ticket): string {
  if (ticket.assigned_agent === null) {
    return "unassigned";
  }
  return ticket.assigned_agent.name;
}

export async function resolve(token: string, ticket: Ticket, etag: string): Promise<string> {
  const headers: UpdateHeaders = { "If-Match": etag };
  const body: UpdateBody = { status: "resolved" };
  const response = await fetch(`/api/tickets/${ticket.id}`, {
    method: "PATCH",
    headers: { ...headers, Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 409) {
    const problem: Conflict = await response.json();
    const detail: string = problem.detail;
    return `Cannot resolve: ${detail} (${problem.status})`;
  }
  if (response.status === 412) {
    const problem: Precondition = await response.json();
    return `Changed meanwhile: ${problem.detail}`;
  }
  const updated: Ticket = await response.json();
  const etagAfter: string | null = response.headers.get("ETag");
  return `${updated.status} at ${updated.resolved_at ?? "?"} (${etagAfter})`;
}
