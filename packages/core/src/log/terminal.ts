/**
 * Text from outside (subjects, owner names, remote output, error bodies) may carry escape sequences that
 * retitle a terminal, clear it or hide what follows; none of it reaches a terminal.
 */

// CSI (ESC [ … final byte, or its 8-bit form), string controls (OSC, DCS, SOS, PM, APC up to BEL or ST), other escapes.
const ESCAPE_SEQUENCES =
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)|\u001b[ -/]*[0-~]?/g;
// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that reorder what is shown.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// Select Graphic Rendition (colours, bold): what our own tables and listr2 add on a colour terminal.
const COLOUR = /(\u001b\[[0-9;]*m)/;

function strip(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '').replace(CONTROL_CHARACTERS, '');
}

/** The text without escape sequences and control characters (tab and newline stay); `keepColour` keeps SGR colour codes. */
export function printable(text: string, options: { keepColour?: boolean } = {}): string {
  if (!options.keepColour) return strip(text);
  return text
    .split(COLOUR)
    .map((part, i) => (i % 2 === 1 ? part : strip(part)))
    .join('');
}
