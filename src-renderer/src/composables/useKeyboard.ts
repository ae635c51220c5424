import { onBeforeUnmount, onMounted } from 'vue';

export type KeyHandler = (event: KeyboardEvent) => void;

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable) return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return type !== 'checkbox' && type !== 'range' && type !== 'radio' && type !== 'button';
}

/**
 * View-level shortcuts, keyed by KeyboardEvent.key ('j', 'ArrowDown', 'Enter', '[' …).
 * Ignored while the user types in a field (except Escape, which leaves the field) and when a
 * modifier is held, so system and browser shortcuts keep working.
 */
export function useKeyboard(handlers: Record<string, KeyHandler>): void {
  function onKeydown(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === 'Escape' && event.target instanceof HTMLElement) event.target.blur();
      return;
    }
    const handler = handlers[event.key];
    if (!handler) return;
    event.preventDefault();
    handler(event);
  }
  onMounted(() => window.addEventListener('keydown', onKeydown));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKeydown));
}
