import { onBeforeUnmount, onMounted } from 'vue';

/**
 * Ctrl+Z / Cmd+Z undo and Ctrl+Shift+Z / Ctrl+Y redo for tag edits, outside text fields (where
 * the browser's own undo of the typed text must keep working). useKeyboard ignores modified keys,
 * so this listens on its own.
 */
export function useUndoShortcut(undo: () => unknown, redo: () => unknown): void {
  function onKeydown(e: KeyboardEvent): void {
    if (e.defaultPrevented || !(e.ctrlKey || e.metaKey) || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && (t.tagName === 'TEXTAREA' || t.isContentEditable || (t.tagName === 'INPUT' && (t as HTMLInputElement).type !== 'checkbox'))) return;
    const key = e.key.toLowerCase();
    if (key === 'z' && !e.shiftKey) {
      e.preventDefault();
      undo();
    } else if ((key === 'z' && e.shiftKey) || key === 'y') {
      e.preventDefault();
      redo();
    }
  }
  onMounted(() => window.addEventListener('keydown', onKeydown));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKeydown));
}
