// The rating page opened from the closing mail: the choice is already made, so it is sent at
// once. The page itself records nothing on opening (mail scanners open every link).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosubmit]");
  if (form) form.requestSubmit();
});
