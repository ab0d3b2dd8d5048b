import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { field } from '../src/providers/modelslab/admin-text.js';
import { sandboxCodeLine } from '../src/providers/modelslab/session.js';
import { defineTool } from './define.js';

const ACTIONS = ['list', 'invite', 'get', 'update', 'remove', 'resend_invite', 'accept_invite'] as const;
const NEEDS_ID = new Set(['get', 'update', 'remove', 'resend_invite']);

export default defineTool({
  name: 'modelslab_team',
  toolset: 'admin',
  providers: ['modelslab'],
  title: 'ModelsLab team',
  description:
    'The ModelsLab team: list, invite (email), get, update (role, permissions, status), remove, resend_invite; ' +
    'accept_invite joins a team (invite_id from the email). Free.',
  input: {
    action: z.enum(ACTIONS).optional().describe('Default list.'),
    email: z.string().min(3).max(254).optional(),
    id: z.number().int().min(1).max(1e9).optional().describe('Member id (list).'),
    role: z.string().min(1).max(50).optional(),
    permissions: z.array(z.string().min(1).max(100)).max(50).optional(),
    status: z.enum(['pending', 'accepted']).optional(),
    invite_id: z.string().min(1).max(100).optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async run({ action = 'list', email, id, role, permissions, status, invite_id }, ctx) {
    const admin = new ModelslabAdmin(ctx.modelslab);
    if (NEEDS_ID.has(action) && id === undefined) {
      throw new UserInputError(`${action} needs the member's id.`, {
        next: 'Call modelslab_team with action list for the ids.',
      });
    }
    const member = id as number;
    switch (action) {
      case 'invite': {
        if (!email) throw new UserInputError('invite needs an email.', { next: 'Call again with email.' });
        const answer = await admin.invite(email, ctx.signal);
        const row = (answer.member ?? answer) as Record<string, unknown>;
        return [
          `Invited ${email} to the ModelsLab team${row.id !== undefined ? ` (member #${String(row.id)})` : ''}.`,
          'ModelsLab emails them the invitation; they join with modelslab_team accept_invite and the invite_id from it.',
          ...sandboxCodeLine(answer.sandbox_invite_id, ctx.config.sandbox, 'the invite_id'),
        ].join('\n');
      }
      case 'get':
        return describe(await admin.member(member, ctx.signal));
      case 'update': {
        if (role === undefined && permissions === undefined && status === undefined) {
          throw new UserInputError('update needs role, permissions or status.', {
            next: 'Call again with what to change.',
          });
        }
        const answer = await admin.updateMember(
          member,
          { role, permissions, invite_status: status },
          ctx.signal,
        );
        return `Updated: ${describe((answer.member ?? answer) as Record<string, unknown>)}`;
      }
      case 'remove':
        await admin.removeMember(member, ctx.signal);
        return `Removed member #${member} from the ModelsLab team.`;
      case 'resend_invite': {
        const answer = await admin.resendInvite(member, ctx.signal);
        return [
          `Sent the invitation to member #${member} again.`,
          ...sandboxCodeLine(answer.sandbox_invite_id, ctx.config.sandbox, 'the invite_id'),
        ].join('\n');
      }
      case 'accept_invite': {
        if (!invite_id) {
          throw new UserInputError('accept_invite needs the invite_id.', {
            next: 'Ask the human for the invite id in the invitation email.',
          });
        }
        const answer = await admin.acceptInvite(invite_id, ctx.signal);
        const team = (answer.team ?? {}) as Record<string, unknown>;
        const owner = field(team, 'owner_email', 'name');
        return `Joined the ModelsLab team${owner ? ` of ${owner}` : ''}${field(team, 'role') ? ` as ${field(team, 'role')}` : ''}.`;
      }
    }
    const rows = await admin.team(ctx.signal);
    if (rows.length === 0) return 'The ModelsLab team has no members or invites. Invite with action invite.';
    return [
      `${rows.length} ModelsLab team member(s) and invite(s):`,
      ...rows.map((r) => `- ${describe(r)}`),
    ].join('\n');
  },
});

function describe(row: Record<string, unknown>): string {
  const name = field(row, 'name');
  const perms = Array.isArray(row.permissions) && row.permissions.length > 0 ? row.permissions : undefined;
  return [
    `#${field(row, 'id') ?? '?'} ${field(row, 'email') ?? '(no email)'}${name ? ` (${name})` : ''}`,
    `role ${field(row, 'role') ?? 'not stated'}`,
    field(row, 'status', 'invite_status') ?? 'status not stated',
    ...(perms ? [`permissions ${perms.map(String).join(', ').slice(0, 200)}`] : []),
  ].join(', ');
}
