import { randomUUID } from 'node:crypto';
import { ApiError } from '../core/exchange.js';
import type { AdminState, TeamRow } from './admin-state.js';
import { str } from './agents.js';
import {
  agentsRoute,
  ok,
  userOf,
  validationError,
  type ModelslabEnv,
  type ModelslabExchange,
} from './server.js';

/**
 * Teams (teams.mdx): the owner lists, invites, updates and removes members; the invitee accepts with the UUID
 * the invitation email carries. The update body (`role`, `permissions`, `invite_status`) is the hosted MCP's
 * (notes/modelslab.md §1.8); the docs name no role values, so any short role name is taken.
 */
export function teamRoutes(state: AdminState) {
  return ({ accounts, now }: ModelslabEnv) => {
    let nextId = 1;
    const route = (method: string, path: string, run: (ctx: ModelslabExchange, p: string[]) => void) =>
      agentsRoute(method, path, 'token', 'agent-general', run);
    const memberOf = (ctx: ModelslabExchange, id: string): TeamRow => {
      const row = state.team.find((r) => String(r.id) === id && r.ownerId === userOf(ctx).id);
      if (!row) throw new ApiError(404, 'not_found', `Team member ${id} not found.`);
      return row;
    };
    const view = (r: TeamRow) => ({
      id: r.id,
      email: r.email,
      name: r.name,
      role: r.role,
      permissions: r.permissions,
      status: r.status,
      invited_at: r.invitedAt,
    });
    // Not part of the real API: the sandbox has no mailbox, so it hands over what the invitation email carries.
    const emailed = (r: TeamRow) => (r.status === 'pending' ? { sandbox_invite_id: r.inviteId } : {});

    return [
      route('GET', '/teams', (ctx) => {
        ok(ctx, state.team.filter((r) => r.ownerId === userOf(ctx).id).map(view));
      }),
      route('POST', '/teams', (ctx) => {
        const owner = userOf(ctx);
        const email = str(ctx, 'email');
        const role = str(ctx, 'role') || 'member';
        if (!email) throw validationError({ email: 'The email field is required.' });
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
          throw validationError({ email: 'The email must be a valid email address.' });
        if (email.toLowerCase() === owner.email.toLowerCase())
          throw validationError({ email: 'You cannot invite yourself.' });
        if (state.team.some((r) => r.ownerId === owner.id && r.email.toLowerCase() === email.toLowerCase()))
          throw validationError({ email: 'This email is already on the team or invited.' });
        if (role.length > 50)
          throw validationError({ role: 'The role may not be greater than 50 characters.' });
        const row: TeamRow = {
          id: nextId++,
          ownerId: owner.id,
          email,
          name: null,
          role,
          permissions: [],
          status: 'pending',
          inviteId: randomUUID(),
          invitedAt: new Date(now()).toISOString(),
        };
        state.team.push(row);
        ok(ctx, { message: `Invitation sent to ${email}.`, member: view(row), ...emailed(row) }, 201);
      }),
      route('GET', '/teams/([0-9]+)', (ctx, [id = '']) => ok(ctx, view(memberOf(ctx, id)))),
      route('PUT', '/teams/([0-9]+)', (ctx, [id = '']) => {
        const row = memberOf(ctx, id);
        const problems: Record<string, string> = {};
        const { role, permissions, invite_status } = ctx.body;
        if (role === undefined && permissions === undefined && invite_status === undefined)
          problems.role = 'Send at least one of role, permissions, invite_status.';
        if (role !== undefined && (typeof role !== 'string' || role.trim() === '' || role.length > 50))
          problems.role = 'The role must be a string of 1 to 50 characters.';
        if (
          permissions !== undefined &&
          !(Array.isArray(permissions) && permissions.every((p) => typeof p === 'string' && p.length <= 100))
        )
          problems.permissions = 'The permissions must be an array of strings.';
        if (invite_status !== undefined && invite_status !== 'pending' && invite_status !== 'accepted')
          problems.invite_status = 'The selected invite status is invalid (pending or accepted).';
        if (Object.keys(problems).length) throw validationError(problems);
        if (typeof role === 'string') row.role = role.trim();
        if (Array.isArray(permissions)) row.permissions = permissions as string[];
        if (invite_status === 'pending' || invite_status === 'accepted') row.status = invite_status;
        ok(ctx, { message: 'Team member updated.', member: view(row) });
      }),
      route('DELETE', '/teams/([0-9]+)', (ctx, [id = '']) => {
        const row = memberOf(ctx, id);
        state.team.splice(state.team.indexOf(row), 1);
        ok(ctx, { message: `${row.email} was removed from the team.`, id: row.id });
      }),
      route('POST', '/teams/([0-9]+)/resend-invite', (ctx, [id = '']) => {
        const row = memberOf(ctx, id);
        if (row.status !== 'pending')
          throw new ApiError(409, 'invite_already_accepted', `${row.email} already accepted the invitation.`);
        ok(ctx, { message: `Invitation sent again to ${row.email}.`, ...emailed(row) });
      }),
      route('POST', '/teams/invitations/([^/]+)/accept', (ctx, [inviteId = '']) => {
        const row = state.team.find((r) => r.inviteId === inviteId);
        if (!row || row.status !== 'pending') throw new ApiError(404, 'not_found', 'Invitation not found.');
        const me = userOf(ctx);
        if (row.email.toLowerCase() !== me.email.toLowerCase())
          throw new ApiError(403, 'forbidden', 'This invitation was sent to another email address.');
        row.status = 'accepted';
        row.name = me.name;
        const owner = accounts.byId(row.ownerId);
        ok(ctx, {
          message: 'Invitation accepted.',
          team: { owner_email: owner?.email ?? null, role: row.role },
        });
      }),
    ];
  };
}
