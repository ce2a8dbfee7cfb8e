import type { ChangeMessage } from '../model.js';
import { accountFromRest, toInt } from './map.js';
import { parseGerritTime } from './time.js';
import type { RestChangeMessageInfo } from './wire.js';

/** Maps ChangeMessageInfos to the model; entries without an id are left out (they cannot be told apart). */
export function messagesFromRest(infos: RestChangeMessageInfo[] | undefined): ChangeMessage[] {
  if (!Array.isArray(infos)) return [];
  const out: ChangeMessage[] = [];
  for (const info of infos) {
    if (!info || typeof info !== 'object' || typeof info.id !== 'string' || info.id === '') continue;
    const message: ChangeMessage = { id: info.id, author: accountFromRest(info.author), message: typeof info.message === 'string' ? info.message : '' };
    const date = parseGerritTime(info.date);
    if (date) message.date = date;
    if (typeof info.tag === 'string' && info.tag !== '') message.tag = info.tag;
    const patchSet = toInt(info._revision_number);
    if (patchSet !== undefined) message.patchSet = patchSet;
    out.push(message);
  }
  return out;
}
