// Mounts the card provider's payment form for an open card payment on the order page. The card
// details go from this form straight to the provider; Forecourt learns of the payment from the
// provider's signed notification, never from this page.
(function () {
  "use strict";
  const box = document.getElementById("card-payment");
  if (!box || typeof window.Stripe !== "function") return;
  const stripe = window.Stripe(box.dataset.key);
  const elements = stripe.elements({ clientSecret: box.dataset.secret });
  elements.create("payment").mount("#card-element");
  const form = box.querySelector("form");
  const problem = box.querySelector(".card-error");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    const result = await stripe.confirmPayment({ elements, confirmParams: { return_url: box.dataset.return } });
    if (result.error) {
      problem.textContent = result.error.message;
      form.querySelector("button").disabled = false;
    }
  });
})();
