import { byId } from "../page/dom.js";
import { AdminError, type AdminApi } from "./api.js";

/** Says what an action did, or why it failed, in the form's result line. */
function report(id: string, text: string, failed: boolean): void {
  const line = byId(id, HTMLElement);
  line.textContent = text;
  line.classList.toggle("form-error", failed);
}

const reason = (error: unknown) =>
  error instanceof AdminError ? `${error.body.code}: ${error.body.message}` : "the request failed";

/**
 * The kick and notice forms. Each sends with the API it is given when submitted, and reports the
 * answer; a refused token signs the page out through `onUnauthorized`.
 */
export function attachForms(api: () => AdminApi | undefined, onUnauthorized: () => void): void {
  const kickForm = byId("kick-form", HTMLFormElement);
  const kickUser = byId("kick-user", HTMLInputElement);
  kickForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const user = kickUser.value.trim();
    const admin = api();
    if (user === "" || !admin) return report("kick-result", "Enter a user name.", true);
    report("kick-result", `Kicking ${user}…`, false);
    admin.kick(user).then(
      ({ nodes }) => {
        const where = nodes.length === 0 ? "no node held them" : `from ${nodes.join(", ")}`;
        report("kick-result", `Kicked ${user}: ${where}.`, false);
      },
      (error: unknown) => {
        if (error instanceof AdminError && error.unauthorized) onUnauthorized();
        report("kick-result", `Could not kick ${user}: ${reason(error)}`, true);
      },
    );
  });

  const noticeForm = byId("notice-form", HTMLFormElement);
  const noticeText = byId("notice-text", HTMLTextAreaElement);
  const noticeRoom = byId("notice-room", HTMLInputElement);
  noticeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = noticeText.value.trim();
    const room = noticeRoom.value.trim();
    const admin = api();
    if (text === "" || !admin) return report("notice-result", "Write the notice first.", true);
    admin.notice(text, room === "" ? undefined : room).then(
      () => {
        noticeText.value = "";
        report("notice-result", room === "" ? "Posted to everyone." : `Posted to ${room}.`, false);
      },
      (error: unknown) => {
        if (error instanceof AdminError && error.unauthorized) onUnauthorized();
        report("notice-result", `Could not post the notice: ${reason(error)}`, true);
      },
    );
  });
}
